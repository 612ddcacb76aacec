// The console: sign in with a personal access token, find users, edit a profile, read its history.
// Views are built with DOM calls (user data goes in as text, never as markup) and chosen by the
// URL's fragment: `#/users?q=…&page=…`, `#/new`, `#/users/<id>`.

import { Api, ApiError } from './api.js';

const TOKEN_KEY = 'persona.console.token';
const ORG_KEY = 'persona.console.org';
const PAGE_SIZE = 20;

const GENDERS = [
  ['GENDER_UNSPECIFIED', 'Not specified'],
  ['GENDER_FEMALE', 'Female'],
  ['GENDER_MALE', 'Male'],
  ['GENDER_DIVERSE', 'Diverse'],
];

/** The profile form's fields: JSON name (v1), input id, label, and the v2 name for reading. */
const PROFILE_FIELDS = [
  { name: 'firstName', id: 'first-name', label: 'First name', v2: 'givenName', autocomplete: 'given-name' },
  { name: 'lastName', id: 'last-name', label: 'Last name', v2: 'familyName', autocomplete: 'family-name' },
  { name: 'nickName', id: 'nick-name', label: 'Nick name', v2: 'nickName', autocomplete: 'nickname' },
  { name: 'displayName', id: 'display-name', label: 'Display name', v2: 'displayName', autocomplete: 'off' },
  {
    name: 'preferredLanguage',
    id: 'preferred-language',
    label: 'Preferred language',
    v2: 'preferredLanguage',
    autocomplete: 'off',
    help: 'A language tag such as en, de-CH or pt-BR; empty for none.',
  },
  { name: 'gender', id: 'gender', label: 'Gender', v2: 'gender', options: GENDERS },
];

/** The new-user form's fields, by the v2 AddHumanUser field paths its violations name. */
const NEW_USER_FIELDS = [
  { name: 'username', id: 'new-username', label: 'User name', autocomplete: 'username' },
  { name: 'email.email', id: 'new-email', label: 'Email', type: 'email', autocomplete: 'email' },
  { name: 'profile.givenName', id: 'new-first-name', label: 'First name', autocomplete: 'given-name' },
  { name: 'profile.familyName', id: 'new-last-name', label: 'Last name', autocomplete: 'family-name' },
];

/** How the history names the fields a change lists. */
const FIELD_LABELS = {
  firstName: 'First name',
  lastName: 'Last name',
  nickName: 'Nick name',
  displayName: 'Display name',
  preferredLanguage: 'Preferred language',
  gender: 'Gender',
  userName: 'User name',
  username: 'User name',
  email: 'Email',
  isEmailVerified: 'Email verified',
  phone: 'Phone',
  isPhoneVerified: 'Phone verified',
  state: 'State',
};

const main = document.getElementById('main');
const status = document.getElementById('status');
const session = document.getElementById('session');
const orgPicker = document.getElementById('org-picker');
const orgSelect = document.getElementById('org');

/** What the signed-in tab knows: the API client and the orgs it may act in. */
const state = { api: null, ownOrg: null, orgs: [], org: null };
/** Counts renders, so an answer that arrives after the view changed is dropped. */
let generation = 0;

/** An element with attributes (`on…` are listeners) and children (strings become text). */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') element.addEventListener(key.slice(2), value);
    else if (key === 'text') element.textContent = value;
    else element.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

function say(message) {
  // A repeated message is still announced: clear first, then set.
  status.textContent = '';
  window.setTimeout(() => {
    status.textContent = message;
  }, 30);
}

function show(view, focus = true) {
  main.replaceChildren(view);
  const heading = main.querySelector('h1');
  if (focus && heading) {
    heading.setAttribute('tabindex', '-1');
    heading.focus();
  }
}

function describe(error) {
  if (error instanceof ApiError) return error.message;
  return 'The server could not be reached. Check the connection and try again.';
}

/** Ends the session: forgets the token (and the org) and shows the sign-in form. */
function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(ORG_KEY);
  Object.assign(state, { api: null, ownOrg: null, orgs: [], org: null });
  session.hidden = true;
  orgPicker.hidden = true;
  if (location.hash && location.hash !== '#/') history.replaceState(null, '', '#/');
  renderSignIn(message);
}

/** Handles an error of a signed-in call: a token no longer accepted ends the session. */
function failed(error) {
  if (error instanceof ApiError && error.unauthenticated) {
    signOut('Your token is no longer accepted. Sign in again.');
    return true;
  }
  return false;
}

// ---- fields and their errors ----

function field(spec, value) {
  const errorId = `${spec.id}-error`;
  const helpId = spec.help ? `${spec.id}-help` : null;
  const describedBy = [helpId, errorId].filter(Boolean).join(' ');
  let control;
  if (spec.options) {
    control = h(
      'select',
      { id: spec.id, name: spec.name, 'aria-describedby': describedBy },
      spec.options.map(([v, label]) => h('option', { value: v, selected: v === value }, label)),
    );
  } else {
    control = h('input', {
      id: spec.id,
      name: spec.name,
      type: spec.type || 'text',
      autocomplete: spec.autocomplete,
      spellcheck: 'false',
      'aria-describedby': describedBy,
    });
    control.value = value ?? '';
  }
  return h(
    'div',
    { class: 'field' },
    h('label', { for: spec.id }, spec.label),
    helpId ? h('p', { id: helpId, class: 'help' }, spec.help) : null,
    control,
    h('p', { id: errorId, class: 'field-error', hidden: true }),
  );
}

function clearErrors(form) {
  for (const error of form.querySelectorAll('.field-error')) {
    error.textContent = '';
    error.hidden = true;
  }
  for (const input of form.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
  const general = form.querySelector('.form-error');
  if (general) {
    general.replaceChildren();
    general.hidden = true;
  }
}

/**
 * Shows every field violation next to its field (the others in the form's general error) and
 * moves the focus to the first invalid field: how many were shown by a field.
 */
function showViolations(form, specs, violations, fallback) {
  let first = null;
  const unplaced = [];
  for (const violation of violations) {
    const spec = specs.find((s) => s.name === violation.field);
    if (!spec) {
      unplaced.push(`${violation.field}: ${violation.description}`);
      continue;
    }
    const input = form.querySelector(`#${spec.id}`);
    const error = form.querySelector(`#${spec.id}-error`);
    input.setAttribute('aria-invalid', 'true');
    error.textContent = error.textContent ? `${error.textContent}; ${violation.description}` : violation.description;
    error.hidden = false;
    first ??= input;
  }
  const general = form.querySelector('.form-error');
  if (general && (unplaced.length > 0 || (!first && fallback))) {
    general.replaceChildren(...(unplaced.length > 0 ? unplaced : [fallback]).map((text) => h('p', {}, text)));
    general.hidden = false;
  }
  if (first) first.focus();
  return violations.length - unplaced.length;
}

// ---- sign in ----

function renderSignIn(message) {
  const input = h('input', {
    id: 'token',
    name: 'token',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    'aria-describedby': 'token-help token-error',
  });
  const error = h('p', { id: 'token-error', class: 'field-error', hidden: true });
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h(
    'form',
    { id: 'sign-in', novalidate: true },
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'token' }, 'Personal access token'),
      h(
        'p',
        { id: 'token-help', class: 'help' },
        'A token of a user allowed to read and edit users. It stays in this browser tab only and is forgotten when you sign out or close the tab.',
      ),
      input,
      error,
    ),
    button,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const token = input.value.trim();
    error.hidden = true;
    input.removeAttribute('aria-invalid');
    if (!token) {
      error.textContent = 'Enter a personal access token.';
      error.hidden = false;
      input.setAttribute('aria-invalid', 'true');
      input.focus();
      return;
    }
    button.disabled = true;
    try {
      await signIn(token);
    } catch (failure) {
      const wrong = failure instanceof ApiError && failure.unauthenticated;
      error.textContent = wrong
        ? 'This token was not accepted: it is wrong, expired or revoked.'
        : `Could not sign in: ${describe(failure)}`;
      error.hidden = false;
      input.setAttribute('aria-invalid', 'true');
      input.focus();
      say(error.textContent);
    } finally {
      button.disabled = false;
    }
  });
  show(h('section', { class: 'card narrow', 'aria-labelledby': 'sign-in-title' }, h('h1', { id: 'sign-in-title' }, 'Sign in'), form), false);
  input.focus();
  if (message) say(message);
}

/** Checks the token (GetMyOrg), learns the orgs it may act in, and opens the users list. */
async function signIn(token, quiet = false) {
  const api = new Api(token);
  let own = null;
  try {
    own = await api.org();
  } catch (error) {
    // A token without org.read may still read users; only a refused token stops here.
    if (!(error instanceof ApiError) || error.unauthenticated || error.status >= 500) throw error;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  state.api = api;
  state.ownOrg = own;
  await loadOrgs();
  session.hidden = false;
  if (!quiet) say('Signed in.');
  route();
}

/** The orgs the token may act in: its own, and every other org whose users it may read. */
async function loadOrgs() {
  const known = state.ownOrg ? [state.ownOrg.id] : [];
  let ids = known;
  try {
    ids = await state.api.orgsWithUsers(known);
  } catch (error) {
    if (error instanceof ApiError && error.unauthenticated) throw error;
  }
  const orgs = await Promise.all(
    ids.map(async (id) => {
      if (state.ownOrg && id === state.ownOrg.id) return { id, name: state.ownOrg.name };
      try {
        return { id, name: (await state.api.org(id)).name };
      } catch {
        return { id, name: `Organization ${id}` };
      }
    }),
  );
  orgs.sort((a, b) => a.name.localeCompare(b.name));
  state.orgs = orgs;
  const saved = sessionStorage.getItem(ORG_KEY);
  state.org = orgs.find((o) => o.id === saved)?.id ?? state.ownOrg?.id ?? orgs[0]?.id ?? null;
  orgSelect.replaceChildren(...orgs.map((o) => h('option', { value: o.id, selected: o.id === state.org }, o.name)));
  orgPicker.hidden = orgs.length < 2;
}

function orgName(id) {
  return state.orgs.find((o) => o.id === id)?.name ?? id;
}

// ---- users ----

function parseHash() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, query = ''] = hash.split('?');
  return { path, params: new URLSearchParams(query) };
}

function usersHref(search, page) {
  const params = new URLSearchParams();
  if (search) params.set('q', search);
  if (page > 1) params.set('page', String(page));
  const query = params.toString();
  return `#/users${query ? `?${query}` : ''}`;
}

function displayName(user) {
  const profile = user.human?.profile;
  return profile?.displayName || [profile?.givenName, profile?.familyName].filter(Boolean).join(' ') || user.username;
}

async function renderUsers(params) {
  const mine = ++generation;
  const search = params.get('q') ?? '';
  const page = Math.max(1, Number.parseInt(params.get('page') ?? '1', 10) || 1);
  const input = h('input', { id: 'search', name: 'q', type: 'search', autocomplete: 'off', 'aria-describedby': 'search-help' });
  input.value = search;
  const form = h(
    'form',
    { role: 'search', class: 'search', 'aria-label': 'Users' },
    h('label', { for: 'search' }, 'Search users'),
    h('p', { id: 'search-help', class: 'help' }, 'Part of a user name, first, last, nick or display name, or email address.'),
    h('div', { class: 'row' }, input, h('button', { type: 'submit' }, 'Search')),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    location.hash = usersHref(input.value.trim(), 1);
  });
  const count = h('p', { id: 'user-count', class: 'meta', 'aria-live': 'polite' }, 'Loading users…');
  const list = h('ul', { class: 'users', 'aria-labelledby': 'users-title' });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages of users', hidden: true });
  const where = state.orgs.length > 1 ? h('p', { class: 'meta' }, `In ${orgName(state.org)}`) : null;
  show(
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'users-title' },
      h('div', { class: 'title-row' }, h('h1', { id: 'users-title' }, 'Users'), h('a', { class: 'button', href: '#/new' }, 'New user')),
      where,
      form,
      count,
      list,
      pager,
    ),
    false,
  );
  try {
    const { users, total } = await state.api.users({ search, org: state.org, offset: (page - 1) * PAGE_SIZE, limit: PAGE_SIZE });
    if (mine !== generation) return;
    const first = (page - 1) * PAGE_SIZE + 1;
    const last = first + users.length - 1;
    count.textContent =
      total === 0
        ? search
          ? `No user matches “${search}”.`
          : 'No users yet.'
        : `${first}–${last} of ${total} user${total === 1 ? '' : 's'}${search ? ` matching “${search}”` : ''}`;
    list.replaceChildren(
      ...users.map((user) =>
        h(
          'li',
          {},
          h('a', { href: `#/users/${encodeURIComponent(user.userId)}` }, displayName(user)),
          h('span', { class: 'meta' }, [user.username, user.human?.email?.email].filter(Boolean).join(' · ')),
        ),
      ),
    );
    const previous = page > 1 ? h('a', { href: usersHref(search, page - 1), rel: 'prev' }, 'Previous page') : null;
    const next = last < total ? h('a', { href: usersHref(search, page + 1), rel: 'next' }, 'Next page') : null;
    pager.replaceChildren(...[previous, next].filter(Boolean));
    pager.hidden = !previous && !next;
  } catch (error) {
    if (mine !== generation || failed(error)) return;
    count.textContent = `The users could not be listed: ${describe(error)}`;
  }
}

function renderNewUser() {
  ++generation;
  const general = h('div', { class: 'form-error', role: 'alert', hidden: true });
  const button = h('button', { type: 'submit' }, 'Create user');
  const form = h(
    'form',
    { id: 'new-user', novalidate: true },
    NEW_USER_FIELDS.map((spec) => field(spec, '')),
    general,
    h('div', { class: 'row' }, button, h('a', { href: '#/users', class: 'button secondary' }, 'Cancel')),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    const value = (id) => form.querySelector(`#${id}`).value.trim();
    button.disabled = true;
    try {
      const id = await state.api.addHuman({
        username: value('new-username'),
        email: value('new-email'),
        givenName: value('new-first-name'),
        familyName: value('new-last-name'),
        org: state.org,
      });
      say('User created.');
      location.hash = `#/users/${encodeURIComponent(id)}`;
    } catch (error) {
      if (failed(error)) return;
      const shown = showViolations(form, NEW_USER_FIELDS, error instanceof ApiError ? error.violations : [], describe(error));
      say(shown > 0 ? 'The user was not created: correct the marked fields.' : `The user was not created: ${describe(error)}`);
    } finally {
      button.disabled = false;
    }
  });
  const where = state.orgs.length > 1 ? h('p', { class: 'meta' }, `In ${orgName(state.org)}`) : null;
  show(
    h(
      'section',
      { class: 'card narrow', 'aria-labelledby': 'new-title' },
      h('p', {}, h('a', { href: '#/users' }, '← Users')),
      h('h1', { id: 'new-title' }, 'New user'),
      where,
      form,
    ),
  );
}

// ---- one user ----

function profileOf(user) {
  const profile = user.human?.profile ?? {};
  const values = {};
  for (const spec of PROFILE_FIELDS) values[spec.name] = profile[spec.v2] ?? '';
  // `und` is how the server stores "no language"; an empty field saves it again.
  if (values.preferredLanguage === 'und') values.preferredLanguage = '';
  if (!values.gender) values.gender = 'GENDER_UNSPECIFIED';
  return values;
}

function fillProfile(form, values) {
  for (const spec of PROFILE_FIELDS) form.querySelector(`#${spec.id}`).value = values[spec.name];
}

function readProfile(form) {
  const values = {};
  for (const spec of PROFILE_FIELDS) {
    const value = form.querySelector(`#${spec.id}`).value;
    values[spec.name] = spec.options ? value : value.trim();
  }
  return values;
}

function shownValue(field, value) {
  if (value === undefined || value === null || value === '') return h('span', { class: 'empty' }, 'empty');
  if (field === 'gender') return GENDERS.find(([v]) => v === value)?.[1] ?? value;
  return value;
}

function renderChange(change) {
  const when = new Date(change.changeDate);
  const editor = change.editorDisplayName || change.editorPreferredLoginName || change.editorId || 'unknown';
  const login = change.editorPreferredLoginName && change.editorPreferredLoginName !== editor ? ` (${change.editorPreferredLoginName})` : '';
  const fields = change.changedFields ?? [];
  return h(
    'li',
    { class: 'change' },
    h(
      'p',
      { class: 'change-head' },
      h('time', { datetime: change.changeDate }, Number.isNaN(when.getTime()) ? change.changeDate : when.toLocaleString()),
      ' · ',
      h('strong', {}, change.eventType?.localizedMessage || change.eventType?.key || 'Change'),
      ' · by ',
      `${editor}${login}`,
    ),
    fields.length === 0
      ? null
      : h(
          'table',
          { class: 'fields' },
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, 'Old value'), h('th', { scope: 'col' }, 'New value'))),
          h(
            'tbody',
            {},
            fields.map((f) =>
              h(
                'tr',
                {},
                h('th', { scope: 'row' }, FIELD_LABELS[f.field] ?? f.field),
                h('td', { 'data-label': 'Old value' }, shownValue(f.field, f.oldValue)),
                h('td', { 'data-label': 'New value' }, shownValue(f.field, f.newValue)),
              ),
            ),
          ),
        ),
  );
}

async function renderUser(id) {
  const mine = ++generation;
  const back = h('p', {}, h('a', { href: '#/users' }, '← Users'));
  show(h('section', { class: 'card' }, back, h('h1', { id: 'user-title' }, 'User'), h('p', { class: 'meta' }, 'Loading…')), false);
  let loaded;
  try {
    loaded = await state.api.user(id);
  } catch (error) {
    if (mine !== generation || failed(error)) return;
    show(h('section', { class: 'card' }, back, h('h1', {}, 'User not found'), h('p', {}, describe(error))));
    return;
  }
  if (mine !== generation) return;
  const user = loaded.user;
  const org = user.details?.resourceOwner;
  /** The version the form was loaded at: what a save sends as `If-Match`. */
  let version = loaded.version;

  const title = h('h1', { id: 'user-title' }, displayName(user));
  const meta = h(
    'p',
    { class: 'meta' },
    [user.username, user.human?.email?.email, state.orgs.length > 1 ? orgName(org) : null].filter(Boolean).join(' · '),
  );
  const general = h('div', { class: 'form-error', role: 'alert', hidden: true });
  const conflict = h('div', { class: 'conflict', role: 'alert', hidden: true });
  const save = h('button', { type: 'submit' }, 'Save');
  const form = h(
    'form',
    { id: 'profile', novalidate: true, 'aria-labelledby': 'profile-title' },
    PROFILE_FIELDS.map((spec) => field(spec, profileOf(user)[spec.name])),
    general,
    conflict,
    h('div', { class: 'row' }, save),
  );
  const history = h('ol', { id: 'history-list', class: 'history', reversed: true });
  const historyNote = h('p', { class: 'meta', 'aria-live': 'polite' }, 'Loading the history…');

  async function loadHistory() {
    try {
      const changes = await state.api.changes(id, org);
      if (mine !== generation) return;
      history.replaceChildren(...changes.map(renderChange));
      historyNote.textContent = `${changes.length} change${changes.length === 1 ? '' : 's'}, newest first.`;
    } catch (error) {
      if (mine !== generation || failed(error)) return;
      historyNote.textContent = `The history could not be loaded: ${describe(error)}`;
    }
  }

  async function reload() {
    try {
      const fresh = await state.api.user(id);
      if (mine !== generation) return;
      version = fresh.version;
      clearErrors(form);
      conflict.hidden = true;
      conflict.replaceChildren();
      fillProfile(form, profileOf(fresh.user));
      title.textContent = displayName(fresh.user);
      say('Reloaded: the form shows the current profile.');
      form.querySelector('#first-name').focus();
      await loadHistory();
    } catch (error) {
      if (!failed(error)) say(`Could not reload: ${describe(error)}`);
    }
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    conflict.hidden = true;
    conflict.replaceChildren();
    save.disabled = true;
    form.setAttribute('aria-busy', 'true');
    try {
      const values = readProfile(form);
      version = await state.api.updateProfile(id, org, version, values);
      title.textContent = values.displayName;
      say('Saved.');
      await loadHistory();
    } catch (error) {
      if (failed(error)) return;
      if (error instanceof ApiError && error.stale) {
        const button = h('button', { type: 'button', class: 'secondary' }, 'Reload');
        button.addEventListener('click', reload);
        conflict.replaceChildren(
          h('p', {}, h('strong', {}, 'This user was changed elsewhere'), ' since you opened it, so nothing was saved.'),
          h('p', {}, 'Your input is kept below. Reload to see the current profile; your input will be replaced by it.'),
          button,
        );
        conflict.hidden = false;
        say('Not saved: the user was changed elsewhere.');
        button.focus();
      } else if (error instanceof ApiError && error.id === 'COMMAND-2M0fs') {
        say('Nothing to save: the profile is unchanged.');
      } else {
        const shown = showViolations(form, PROFILE_FIELDS, error instanceof ApiError ? error.violations : [], describe(error));
        say(shown > 0 ? `Not saved: ${shown === 1 ? 'a field needs' : `${shown} fields need`} correcting.` : `Not saved: ${describe(error)}`);
      }
    } finally {
      save.disabled = false;
      form.removeAttribute('aria-busy');
    }
  });

  show(
    h(
      'div',
      { class: 'user' },
      h('section', { class: 'card' }, back, title, meta, h('h2', { id: 'profile-title' }, 'Profile'), form),
      h('section', { class: 'card', id: 'history', 'aria-labelledby': 'history-title' }, h('h2', { id: 'history-title' }, 'History'), historyNote, history),
    ),
  );
  await loadHistory();
}

// ---- routing ----

function route() {
  if (!state.api) return;
  const { path, params } = parseHash();
  const user = path.match(/^\/users\/([^/]+)$/);
  if (user) renderUser(decodeURIComponent(user[1]));
  else if (path === '/new') renderNewUser();
  else renderUsers(params);
}

window.addEventListener('hashchange', route);
document.getElementById('sign-out').addEventListener('click', () => signOut('Signed out. The token is forgotten.'));
orgSelect.addEventListener('change', () => {
  state.org = orgSelect.value;
  sessionStorage.setItem(ORG_KEY, state.org);
  say(`Now acting in ${orgName(state.org)}.`);
  if (parseHash().path === '/users' || parseHash().path === '/') renderUsers(new URLSearchParams());
  else location.hash = '#/users';
});

const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) {
  signIn(saved, true).catch((error) => signOut(error instanceof ApiError && error.unauthenticated ? 'Your token is no longer accepted. Sign in again.' : describe(error)));
} else {
  renderSignIn();
}
