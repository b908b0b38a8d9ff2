import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { setCsrfToken } from '@/lib/api-client';
import type { ApiKey } from '@/types/api';
import { json, renderWithProviders, stubApi } from '@/testing/test-utils';

import { ApiKeysPage } from './api-keys-page';

const live: ApiKey = {
  id: 7,
  name: 'Billing server',
  prefix: 'sk_live_abcd',
  created_at: '2025-01-01T09:00:00Z',
  last_used_at: null,
  revoked_at: null,
};

afterEach(() => {
  vi.unstubAllGlobals();
  setCsrfToken(null);
});

describe('ApiKeysPage', () => {
  it('creates a key, shows its secret once, and sends the CSRF token', async () => {
    setCsrfToken('csrf-token');
    let keys = [live];
    const api = stubApi({
      'GET /api-keys': () => json(200, keys),
      'POST /api-keys': () => {
        const created = { ...live, id: 8, name: 'CI', prefix: 'sk_live_wxyz' };
        keys = [created, ...keys];
        return json(201, { ...created, secret: 'sk_test_wxyz-the-whole-secret' });
      },
    });
    const user = userEvent.setup();
    renderWithProviders(<ApiKeysPage />);

    expect(await screen.findAllByTestId('api-key-row')).toHaveLength(1);
    await user.type(screen.getByLabelText('Key name'), 'CI');
    await user.click(screen.getByTestId('api-key-create'));

    expect(await screen.findByTestId('api-key-secret')).toHaveTextContent('sk_test_wxyz-the-whole-secret');
    await waitFor(() => expect(screen.getAllByTestId('api-key-row')).toHaveLength(2));
    const post = api.requests.find((request) => request.method === 'POST');
    expect(post?.headers['X-CSRFToken']).toBe('csrf-token');
    expect(JSON.parse(post!.body!)).toEqual({ name: 'CI' });
    // Listed again, a key never carries its secret.
    expect(screen.getAllByTestId('api-key-row')[0]).not.toHaveTextContent('the-whole-secret');
  });

  it('revokes a key and shows it revoked', async () => {
    let keys = [live];
    const api = stubApi({
      'GET /api-keys': () => json(200, keys),
      'DELETE /api-keys/7': () => {
        keys = [{ ...live, revoked_at: '2025-01-02T09:00:00Z' }];
        return json(200, keys[0]);
      },
    });
    const user = userEvent.setup();
    renderWithProviders(<ApiKeysPage />);

    await user.click(await screen.findByRole('button', { name: 'Revoke the key Billing server' }));

    await waitFor(() => expect(screen.getByTestId('api-key-row')).toHaveAttribute('data-revoked', 'true'));
    expect(api.requests.some((request) => request.method === 'DELETE' && request.path === '/api-keys/7')).toBe(true);
    expect(screen.queryByTestId('api-key-revoke')).not.toBeInTheDocument();
  });
});
