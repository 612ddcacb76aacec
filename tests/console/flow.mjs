// Drives the console in headless Chromium (Debian's, through playwright-core) against a running
// Persona: every flow of issue 16, each step checked in the page and, where it writes, through
// the API. tests/e2e/console.rs starts the server, seeds the users and runs this script.
//
// Environment: PERSONA_URL (http://host:port), PERSONA_TOKEN (an IAM_OWNER's token), ADA_ID,
// OTHER_ORG (the name of a second org with a user Charles Babbage), ARTIFACTS (a directory for
// screenshots), CHROMIUM (default /usr/bin/chromium). Prints one JSON line with what it saw and
// exits non-zero at the first failed step.

import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const base = process.env.PERSONA_URL;
const token = process.env.PERSONA_TOKEN;
const adaId = process.env.ADA_ID;
const otherOrg = process.env.OTHER_ORG;
const artifacts = process.env.ARTIFACTS;
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
for (const [name, value] of Object.entries({ PERSONA_URL: base, PERSONA_TOKEN: token, ADA_ID: adaId, OTHER_ORG: otherOrg, ARTIFACTS: artifacts })) {
  if (!value) throw new Error(`${name} is not set`);
}
mkdirSync(artifacts, { recursive: true });
const origin = new URL(base).origin;
const timeout = 15000;

let step = 'start';
function check(condition, message) {
  if (!condition) throw new Error(`${step}: ${message}`);
}

/** The API as a client outside the browser sees it. */
async function api(method, path, body, headers = {}) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
  return { json, etag: response.headers.get('etag') };
}

async function profile(id) {
  return (await api('GET', `/management/v1/users/${id}/profile`)).json.profile;
}

const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu'] });
const seen = { pageErrors: [], consoleErrors: [], foreign: [], failedResponses: [], requests: 0 };
try {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, colorScheme: 'light' });
  const page = await context.newPage();
  page.setDefaultTimeout(timeout);
  page.on('pageerror', (error) => seen.pageErrors.push(String(error)));
  page.on('console', (message) => {
    if (message.type() === 'error') seen.consoleErrors.push(message.text());
  });
  page.on('request', (request) => {
    seen.requests += 1;
    const url = request.url();
    if (!url.startsWith('data:') && new URL(url).origin !== origin) seen.foreign.push(url);
  });
  page.on('response', (response) => {
    if (response.status() >= 400) {
      seen.failedResponses.push({ method: response.request().method(), path: new URL(response.url()).pathname, status: response.status() });
    }
  });
  const status = page.locator('#status');
  const waitForStatus = async (text) => {
    await page.waitForFunction((t) => document.getElementById('status').textContent.includes(t), text, { timeout });
  };

  step = 'open the console without a token';
  const opened = await page.goto(`${base}/console`);
  check(opened.ok(), `GET /console answered ${opened.status()}`);
  check(new URL(page.url()).pathname === '/console/', `landed on ${page.url()}`);
  const tokenField = page.getByLabel('Personal access token');
  await tokenField.waitFor();

  step = 'a wrong token';
  await tokenField.fill('not-a-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#token-error').getByText('This token was not accepted').waitFor();
  check((await page.evaluate(() => sessionStorage.length)) === 0, 'a refused token was stored');

  step = 'sign in';
  await tokenField.fill(token);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
  const stored = await page.evaluate(() => ({ session: Object.values(sessionStorage), local: localStorage.length, cookies: document.cookie }));
  check(stored.session.includes(token), 'the token is not in sessionStorage');
  check(stored.local === 0 && stored.cookies === '', 'something was kept outside sessionStorage');

  step = 'the org switcher';
  const orgSwitch = page.getByLabel('Organization');
  await orgSwitch.waitFor();
  const orgNames = await orgSwitch.locator('option').allTextContents();
  check(orgNames.includes(otherOrg) && orgNames.length === 2, `orgs offered: ${orgNames.join(', ')}`);

  step = 'search and page';
  const search = page.getByLabel('Search users');
  const count = page.locator('#user-count');
  const userLinks = page.locator('ul.users a');
  await search.fill('member');
  await search.press('Enter');
  await count.getByText('1–20 of 25 users matching “member”').waitFor();
  check((await userLinks.count()) === 20, `first page shows ${await userLinks.count()} users`);
  await page.getByRole('link', { name: 'Next page' }).click();
  await count.getByText('21–25 of 25 users matching “member”').waitFor();
  check((await userLinks.count()) === 5, `second page shows ${await userLinks.count()} users`);
  await search.fill('GRACE@EXAMPLE');
  await search.press('Enter');
  await count.getByText('1–1 of 1 user matching').waitFor();
  check((await userLinks.allTextContents()).join() === 'Grace Hopper', 'the email search found someone else');
  await search.fill('hopp');
  await search.press('Enter');
  await count.getByText('1–1 of 1 user matching “hopp”').waitFor();
  check((await userLinks.allTextContents()).join() === 'Grace Hopper', 'the last-name search found someone else');

  step = 'switch orgs';
  await orgSwitch.selectOption({ label: otherOrg });
  await page.getByRole('link', { name: 'Charles Babbage' }).waitFor();
  check((await userLinks.count()) === 1, `the other org lists ${await userLinks.count()} users`);
  await orgSwitch.selectOption({ index: orgNames.indexOf(otherOrg) === 0 ? 1 : 0 });
  await count.getByText(/of 2[0-9] users/).waitFor();

  step = 'a new user: every violation next to its field';
  await page.getByRole('link', { name: 'New user' }).click();
  await page.getByRole('heading', { name: 'New user' }).waitFor();
  await page.getByRole('button', { name: 'Create user' }).click();
  await page.locator('#new-username-error').waitFor();
  for (const id of ['new-username', 'new-first-name', 'new-last-name']) {
    check(await page.locator(`#${id}-error`).isVisible(), `no error shown for ${id}`);
    check((await page.locator(`#${id}`).getAttribute('aria-invalid')) === 'true', `${id} is not marked invalid`);
  }

  step = 'a new user';
  await page.getByLabel('User name').fill('hedy');
  await page.getByLabel('Email').fill('hedy@example.com');
  await page.getByLabel('First name').fill('Hedy');
  await page.getByLabel('Last name').fill('Lamarr');
  await page.getByRole('button', { name: 'Create user' }).click();
  await page.getByRole('heading', { name: 'Hedy Lamarr', level: 1 }).waitFor();
  const hedyId = decodeURIComponent(new URL(page.url()).hash.replace('#/users/', ''));

  step = 'open a user';
  await page.getByRole('link', { name: '← Users' }).click();
  await search.fill('lovelace');
  await search.press('Enter');
  await count.getByText('1–1 of 1 user matching “lovelace”').waitFor();
  await page.getByRole('link', { name: 'Ada Lovelace' }).click();
  await page.getByRole('heading', { name: 'Ada Lovelace', level: 1 }).waitFor();
  const field = (label) => page.getByLabel(label, { exact: true });
  for (const label of ['First name', 'Last name', 'Nick name', 'Display name', 'Preferred language', 'Gender']) {
    await field(label).waitFor();
  }
  check((await field('First name').inputValue()) === 'Ada', 'the form is not loaded with the profile');
  await page.getByRole('heading', { name: 'History' }).waitFor();

  step = 'save a change';
  await field('Nick name').fill('Countess');
  await field('Gender').selectOption({ label: 'Female' });
  await page.getByRole('button', { name: 'Save' }).click();
  await waitForStatus('Saved.');
  const saved = await profile(adaId);
  check(saved.nickName === 'Countess' && saved.gender === 'GENDER_FEMALE', `the API reads ${JSON.stringify(saved)}`);

  step = 'an empty first name';
  await field('First name').fill('');
  await field('Display name').fill('');
  await page.getByRole('button', { name: 'Save' }).click();
  const firstError = page.locator('#first-name-error');
  await firstError.waitFor();
  const errorText = await firstError.textContent();
  check(/length/.test(errorText), `the first name's error reads ${errorText}`);
  check(await page.locator('#display-name-error').isVisible(), 'the display name error is not shown with it');
  check((await field('First name').getAttribute('aria-describedby')).includes('first-name-error'), 'the error is not bound to the field');
  const sameField = await page.evaluate(() => document.getElementById('first-name-error').parentElement.contains(document.getElementById('first-name')));
  check(sameField, 'the error is not next to its field');
  check((await page.evaluate(() => document.activeElement.id)) === 'first-name', 'the focus is not on the first invalid field');
  check((await profile(adaId)).firstName === 'Ada', 'the invalid save changed the user');

  step = 'a stale save';
  await field('First name').fill('Ada');
  await field('Display name').fill('Ada Lovelace');
  const current = await api('GET', `/management/v1/users/${adaId}/profile`);
  await api(
    'PUT',
    `/management/v1/users/${adaId}/profile`,
    { ...current.json.profile, firstName: 'Augusta', preferredLanguage: '' },
    { 'if-match': current.etag },
  );
  await field('Last name').fill('Byron');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.locator('form#profile .conflict').getByText('This user was changed elsewhere').waitFor();
  check((await field('Last name').inputValue()) === 'Byron', 'the input was not kept');
  const reload = page.getByRole('button', { name: 'Reload' });
  check(await reload.isVisible(), 'no Reload offered');
  const afterStale = await profile(adaId);
  check(afterStale.lastName === 'Lovelace' && afterStale.firstName === 'Augusta', `the stale save wrote: ${JSON.stringify(afterStale)}`);
  await page.screenshot({ path: join(artifacts, 'edit.png'), fullPage: true });

  step = 'reload';
  await reload.click();
  await waitForStatus('Reloaded');
  check((await field('First name').inputValue()) === 'Augusta', 'the reload did not bring the current first name');
  check((await field('Last name').inputValue()) === 'Lovelace', 'the reload kept the stale input');

  step = 'history';
  const changes = page.locator('#history-list > li');
  await page.waitForFunction(() => document.querySelectorAll('#history-list > li').length >= 3);
  const rows = await changes.evaluateAll((items) =>
    items.map((item) => ({
      head: item.querySelector('.change-head').textContent,
      time: item.querySelector('time')?.getAttribute('datetime'),
      fields: [...item.querySelectorAll('tbody tr')].map((tr) => [...tr.children].map((cell) => cell.textContent)),
    })),
  );
  check(rows.length === 3, `history has ${rows.length} entries: ${JSON.stringify(rows)}`);
  check(JSON.stringify(rows[0].fields) === JSON.stringify([['First name', 'Ada', 'Augusta']]), `newest change: ${JSON.stringify(rows[0])}`);
  const nick = rows[1].fields.find((f) => f[0] === 'Nick name');
  const gender = rows[1].fields.find((f) => f[0] === 'Gender');
  check(nick && nick[1] === 'empty' && nick[2] === 'Countess', `the nick name change: ${JSON.stringify(rows[1])}`);
  check(gender && gender[1] === 'Not specified' && gender[2] === 'Female', `the gender change: ${JSON.stringify(rows[1])}`);
  check(rows[2].head.includes('Person added'), `the oldest entry: ${rows[2].head}`);
  check(rows.every((r) => r.head.includes('Persona administrator') && r.time), 'an entry lacks its editor or time');
  const times = rows.map((r) => Date.parse(r.time));
  check(times.every((t, i) => i === 0 || t <= times[i - 1]), 'the history is not newest first');
  await page.locator('#history').screenshot({ path: join(artifacts, 'history.png') });
  await page.screenshot({ path: join(artifacts, 'console.png'), fullPage: true });

  step = 'keyboard and focus';
  await field('Preferred language').focus();
  await page.keyboard.press('Tab');
  check((await page.evaluate(() => document.activeElement.id)) === 'gender', 'Tab does not move to the next field');
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  check(outline !== 'none', 'the focused field shows no focus ring');
  let reached = false;
  for (let i = 0; i < 5 && !reached; i += 1) {
    await page.keyboard.press('Tab');
    reached = (await page.evaluate(() => document.activeElement.textContent)) === 'Save';
  }
  check(reached, 'Save is not reachable by keyboard');

  step = 'phone width';
  await page.setViewportSize({ width: 360, height: 780 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  check(overflow <= 0, `the page is ${overflow}px wider than a phone screen`);
  await page.screenshot({ path: join(artifacts, 'phone.png'), fullPage: true });
  await page.setViewportSize({ width: 1100, height: 900 });

  step = 'dark scheme';
  await page.emulateMedia({ colorScheme: 'dark' });
  const dark = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
  await page.emulateMedia({ colorScheme: 'light' });
  const light = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
  check(dark !== light, `the same background in light and dark: ${dark}`);

  step = 'sign out';
  await page.getByRole('button', { name: 'Sign out' }).click();
  await tokenField.waitFor();
  check((await page.evaluate(() => sessionStorage.length)) === 0, 'the token is still stored');
  await page.reload();
  await tokenField.waitFor();
  check(!(await page.getByRole('button', { name: 'Sign out' }).isVisible()), 'still signed in after a reload');

  step = 'no script error, no other origin, only the expected refusals';
  check(seen.pageErrors.length === 0, `script errors: ${seen.pageErrors.join(' | ')}`);
  check(seen.foreign.length === 0, `requests to other origins: ${seen.foreign.join(', ')}`);
  const expected = (r) =>
    (r.status === 401 && r.path === '/management/v1/orgs/me') ||
    (r.status === 400 && r.method === 'POST' && r.path === '/v2/users/human') ||
    ((r.status === 400 || r.status === 412) && r.method === 'PUT' && r.path === `/management/v1/users/${adaId}/profile`);
  const unexpected = seen.failedResponses.filter((r) => !expected(r));
  check(unexpected.length === 0, `unexpected refusals: ${JSON.stringify(unexpected)}`);
  const statuses = new Set(seen.failedResponses.map((r) => String(r.status)));
  const consoleErrors = seen.consoleErrors.filter((text) => {
    const match = /^Failed to load resource: the server responded with a status of (\d+)/.exec(text);
    return !(match && statuses.has(match[1]));
  });
  check(consoleErrors.length === 0, `console errors: ${consoleErrors.join(' | ')}`);
  check(seen.failedResponses.some((r) => r.status === 412) && seen.failedResponses.some((r) => r.status === 401), 'the refusals were not seen');

  console.log(JSON.stringify({ ok: true, hedyId, requests: seen.requests, refusals: seen.failedResponses.length, status: await status.textContent() }));
} catch (error) {
  console.error(`console flow failed at "${step}": ${error.message}`);
  console.error(JSON.stringify(seen));
  process.exitCode = 1;
} finally {
  await browser.close();
}
