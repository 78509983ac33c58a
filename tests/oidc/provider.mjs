#!/usr/bin/env node
// A real OpenID provider for the sign-in tests: the certified `oidc-provider` package on
// 127.0.0.1 (port chosen by the system), one public client for the desktop (loopback redirect
// on any port, PKCE required), one test user, and plain login and consent pages of our own that
// check the password. Prints one JSON line on stdout once it listens:
//   {"issuer":"http://127.0.0.1:PORT","jwks_uri":"…","port":PORT}
// then serves until killed (or until its stdin closes, so a crashed test leaves no process).
//
// Options (all optional): --client-id ID, --email E, --password P, --id-token-ttl SECONDS,
// --backchannel-logout URL (the Twake Drive route; the provider puts `sid` in ID tokens only for
// clients that ask for back-channel logout, and the Twake Drive backend wants that claim).

import http from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import { parseArgs } from 'node:util';
import Provider from 'oidc-provider';

const { values: opt } = parseArgs({
  options: {
    'client-id': { type: 'string', default: 'tdriveweb' },
    email: { type: 'string', default: 'alice@example.com' },
    password: { type: 'string', default: 'correct horse battery staple' },
    'id-token-ttl': { type: 'string', default: '3600' },
    'backchannel-logout': { type: 'string', default: 'http://127.0.0.1/backchannel_logout' },
  },
});

const user = {
  sub: 'user-0001',
  email: opt.email,
  given_name: 'Alice',
  family_name: 'Liddell',
};

// A signing key made for this run: the server under test fetches it from jwks_uri.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signing = { ...privateKey.export({ format: 'jwk' }), kid: 'test-key', use: 'sig', alg: 'RS256' };

const server = http.createServer();
await new Promise((done) => server.listen(0, '127.0.0.1', done));
const port = server.address().port;
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: opt['client-id'],
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1/callback'],
      backchannel_logout_uri: opt['backchannel-logout'],
      backchannel_logout_session_required: true,
    },
  ],
  jwks: { keys: [signing] },
  cookies: { keys: ['test cookies are signed with this'] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['given_name', 'family_name', 'name'],
  },
  // The Twake Drive backend reads the email and names from the token it is given, so they go
  // into the ID token (as the providers deployed with it do), not only into userinfo.
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: false },
    backchannelLogout: { enabled: true },
  },
  pkce: { required: () => true },
  ttl: { IdToken: Number(opt['id-token-ttl']) },
  findAccount: (_ctx, id) =>
    id === user.sub
      ? {
          accountId: id,
          claims: () => ({ ...user, email_verified: true, name: `${user.given_name} ${user.family_name}` }),
        }
      : undefined,
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
});
provider.on('server_error', (_ctx, err) => console.error('oidc-provider:', err));

const page = (title, body) => `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head>
<body><h1>${title}</h1>${body}</body></html>`;

function readForm(req) {
  return new Promise((done, fail) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (piece) => (raw += piece));
    req.on('end', () => done(new URLSearchParams(raw)));
    req.on('error', fail);
  });
}

function send(res, status, html) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
  res.end(html);
}

function loginPage(uid, error) {
  return page(
    'Sign in',
    `${error ? `<p role="alert">${error}</p>` : ''}
<form method="post" action="/interaction/${uid}/login">
  <label>Email <input name="login" autocomplete="username"></label>
  <label>Password <input name="password" type="password" autocomplete="current-password"></label>
  <button type="submit">Sign in</button>
</form>`,
  );
}

function consentPage(uid, client) {
  return page(
    'Allow access',
    `<p>${client} asks to read your email and name.</p>
<form method="post" action="/interaction/${uid}/confirm"><button type="submit">Allow</button></form>`,
  );
}

// Login and consent, as an identity provider's own pages would do them.
async function interaction(req, res, uid, step) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return send(res, 400, page('Error', '<p>This sign-in has expired.</p>'));
  if (req.method === 'GET') {
    return details.prompt.name === 'login'
      ? send(res, 200, loginPage(uid))
      : send(res, 200, consentPage(uid, details.params.client_id));
  }
  const form = await readForm(req);
  if (step === 'login') {
    if (form.get('login') !== user.email || form.get('password') !== opt.password) {
      return send(res, 200, loginPage(uid, 'Wrong email or password.'));
    }
    return provider.interactionFinished(req, res, { login: { accountId: user.sub } }, { mergeWithLastSubmission: false });
  }
  if (step === 'confirm') {
    const { prompt, params, session, grantId } = details;
    const grant = grantId
      ? await provider.Grant.find(grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
    if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    return provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
  }
  return send(res, 404, page('Not found', ''));
}

const callback = provider.callback();
server.on('request', (req, res) => {
  const m = /^\/interaction\/([^/?]+)(?:\/(login|confirm))?/.exec(req.url);
  if (!m) return callback(req, res);
  interaction(req, res, m[1], m[2]).catch((err) => {
    console.error('interaction:', err);
    send(res, 400, page('Error', `<p>${String(err.message).replace(/</g, '&lt;')}</p>`));
  });
});

// The test may stop reading once it has the address: a write after that must not kill us.
process.stdout.on('error', () => {});
console.log(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks`, port }));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
