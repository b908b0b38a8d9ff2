import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';

import { WebhookDisabledBanner } from './webhook-disabled-banner';

describe('WebhookDisabledBanner', () => {
  it('says nothing while no endpoint is disabled', () => {
    const { container } = render(<WebhookDisabledBanner disabled={0} role="owner" />);
    expect(container).toBeEmptyDOMElement();
  });

  it.each(['owner', 'developer'] as const)('links a %s to the Webhooks page', (role) => {
    render(<WebhookDisabledBanner disabled={1} role={role} />);

    const banner = screen.getByTestId('webhook-disabled-banner');
    expect(banner).toHaveAttribute('role', 'alert');
    expect(banner).toHaveTextContent('A webhook endpoint is disabled: its events are not being sent.');
    expect(screen.getByRole('link', { name: 'Review webhooks' })).toHaveAttribute('href', '#/webhooks');
  });

  it('tells a viewer whom to ask, with no link to a page it cannot open', () => {
    render(<WebhookDisabledBanner disabled={3} role="viewer" />);

    expect(screen.getByTestId('webhook-disabled-banner')).toHaveTextContent(
      '3 webhook endpoints are disabled: their events are not being sent. Ask an owner or developer',
    );
    expect(screen.queryByRole('link')).not.toBeInTheDocument();
  });
});
