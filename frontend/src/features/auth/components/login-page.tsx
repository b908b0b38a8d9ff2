import { useId, useState, type FormEvent } from 'react';

import { Button } from '@/components/ui/button';
import { Card } from '@/components/ui/card';
import { useDemoMerchants } from '@/features/merchants/api/get-demo-merchants';
import { storeMerchantId } from '@/features/merchants/lib/merchant-choice';
import { errorMessage } from '@/lib/api-client';
import type { Id } from '@/types/api';

import { useSignIn } from '../api/auth';

/** Email and password; in demo mode, one button per demo merchant as well. */
export function LoginPage() {
  const titleId = useId();
  const demoTitleId = useId();
  const emailId = useId();
  const passwordId = useId();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const { login, demoLogin } = useSignIn();
  const demo = useDemoMerchants();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    login.mutate({ email, password });
  };
  const demoSignIn = (merchantId: Id) => {
    storeMerchantId(String(merchantId));
    demoLogin.mutate(merchantId);
  };
  const failure = login.error ?? demoLogin.error;

  return (
    <div className="mx-auto grid max-w-md gap-6">
      <Card title="Sign in" titleId={titleId} description="With the email and password of your merchant account.">
        <form onSubmit={submit} className="grid gap-4 p-5" aria-labelledby={titleId}>
          <div className="grid gap-1">
            <label htmlFor={emailId} className="text-sm font-medium text-ink">
              Email
            </label>
            <input
              id={emailId}
              data-testid="login-email"
              type="email"
              autoComplete="username"
              required
              value={email}
              onChange={(event) => setEmail(event.target.value)}
              className="min-h-10 rounded-lg border border-line px-3 text-sm"
            />
          </div>
          <div className="grid gap-1">
            <label htmlFor={passwordId} className="text-sm font-medium text-ink">
              Password
            </label>
            <input
              id={passwordId}
              data-testid="login-password"
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(event) => setPassword(event.target.value)}
              className="min-h-10 rounded-lg border border-line px-3 text-sm"
            />
          </div>
          {failure ? (
            <p data-testid="login-error" role="alert" className="text-sm text-red-700">
              {errorMessage(failure)}
            </p>
          ) : null}
          <Button type="submit" data-testid="login-submit" disabled={login.isPending}>
            {login.isPending ? 'Signing in…' : 'Sign in'}
          </Button>
        </form>
      </Card>
      {demo.data && demo.data.length > 0 ? (
        <Card
          title="Demo merchants"
          titleId={demoTitleId}
          description="Demo mode is on: sign in as a demo merchant's owner in one click."
        >
          <div className="grid gap-3 p-5">
            {demo.data.map((merchant) => (
              <Button
                key={String(merchant.id)}
                type="button"
                variant="secondary"
                data-testid="demo-login"
                data-merchant-id={String(merchant.id)}
                aria-label={`Sign in as the owner of ${merchant.name}`}
                disabled={demoLogin.isPending}
                onClick={() => demoSignIn(merchant.id)}
              >
                {merchant.name}
              </Button>
            ))}
          </div>
        </Card>
      ) : null}
    </div>
  );
}
