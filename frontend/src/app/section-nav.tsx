import { cn } from '@/lib/cn';
import { hashFor } from '@/lib/hash-route';

import type { Section } from './sections';

/** The pages of one merchant's dashboard; hidden when there is only one. */
export function SectionNav({ sections, current }: { sections: Section[]; current: string }) {
  if (sections.length < 2) return null;
  return (
    <nav aria-label="Dashboard pages" className="mb-6 overflow-x-auto border-b border-line">
      <ul className="flex gap-1">
        {sections.map((section) => (
          <li key={section.id}>
            <a
              href={hashFor([section.id])}
              data-testid={`nav-${section.id}`}
              aria-current={section.id === current ? 'page' : undefined}
              className={cn(
                '-mb-px inline-block border-b-2 px-3 py-2 text-sm font-medium whitespace-nowrap',
                section.id === current
                  ? 'border-brand-600 text-ink'
                  : 'border-transparent text-ink-muted hover:border-line hover:text-ink',
              )}
            >
              {section.label}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}
