// The console's only way to the server: Persona's public REST API on the page's own origin,
// with the caller's personal access token as a bearer token.

/** An answer other than 2xx, in the REST error shape `{code, message, details}`. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body && typeof body.message === 'string' ? body.message : `HTTP ${status}`);
    this.status = status;
    this.code = body && Number.isInteger(body.code) ? body.code : null;
    const details = body && Array.isArray(body.details) ? body.details : [];
    const badRequest = details.find((d) => d['@type'] === 'type.googleapis.com/google.rpc.BadRequest');
    /** Every field violation: `{field, description}`, fields by their JSON name. */
    this.violations = badRequest && Array.isArray(badRequest.fieldViolations) ? badRequest.fieldViolations : [];
    const detail = details.find((d) => d['@type'] === 'type.googleapis.com/zitadel.v1.ErrorDetail');
    this.id = detail ? detail.id : null;
  }

  /** The token was not accepted (HTTP 401, code 16 Unauthenticated). */
  get unauthenticated() {
    return this.status === 401 || this.code === 16;
  }

  /** `If-Match` named a version that is no longer the current one (HTTP 412). */
  get stale() {
    return this.status === 412;
  }
}

const CONTAINS = 'TEXT_QUERY_METHOD_CONTAINS_IGNORE_CASE';

/** Orgs found by probing at most this many (each probe adds one condition to the query). */
const MAX_ORGS = 50;

export class Api {
  /** @param {string} token the personal access token */
  constructor(token) {
    this.token = token;
  }

  async call(method, path, { body, org, ifMatch } = {}) {
    const headers = { authorization: `Bearer ${this.token}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (org) headers['x-zitadel-orgid'] = org;
    if (ifMatch !== undefined) headers['if-match'] = `"${ifMatch}"`;
    const response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    });
    const text = await response.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      json = null;
    }
    if (!response.ok) throw new ApiError(response.status, json);
    if (json === null) throw new ApiError(response.status, { message: 'The server answered something that is not JSON' });
    return json;
  }

  /** The org the token acts in, or `org` (GetMyOrg): `{id, name, ...}`. */
  async org(org) {
    return (await this.call('GET', '/management/v1/orgs/me', { org })).org;
  }

  /**
   * A page of human users (v2 ListUsers), optionally in one org and matching `search` in the user
   * name, first, last, nick or display name or the email address: `{users, total}`.
   */
  async users({ search = '', org = null, offset = 0, limit = 20 }) {
    const queries = [{ typeQuery: { type: 'TYPE_HUMAN' } }];
    if (org) queries.push({ organizationIdQuery: { organizationId: org } });
    const text = search.trim();
    if (text) {
      queries.push({
        orQuery: {
          queries: [
            { userNameQuery: { userName: text, method: CONTAINS } },
            { firstNameQuery: { firstName: text, method: CONTAINS } },
            { lastNameQuery: { lastName: text, method: CONTAINS } },
            { nickNameQuery: { nickName: text, method: CONTAINS } },
            { displayNameQuery: { displayName: text, method: CONTAINS } },
            { emailQuery: { emailAddress: text, method: CONTAINS } },
          ],
        },
      });
    }
    const body = { query: { offset: String(offset), limit, asc: true }, sortingColumn: 'USER_FIELD_NAME_DISPLAY_NAME', queries };
    const answer = await this.call('POST', '/v2/users', { body });
    return { users: answer.result || [], total: Number(answer.details?.totalResult || 0) };
  }

  /**
   * The ids of the orgs whose users the token may read besides `known` (there is no RPC that
   * lists orgs): each probe asks v2 ListUsers for one user outside the orgs found so far, so it
   * costs one request per org, whatever the number of users. Orgs without users stay unseen.
   */
  async orgsWithUsers(known) {
    const found = [...known];
    while (found.length < MAX_ORGS) {
      const queries = found.map((id) => ({ notQuery: { query: { organizationIdQuery: { organizationId: id } } } }));
      const answer = await this.call('POST', '/v2/users', { body: { query: { limit: 1 }, queries } });
      const owner = answer.result?.[0]?.details?.resourceOwner;
      if (!owner || found.includes(owner)) break;
      found.push(owner);
    }
    return found;
  }

  /** One user (v2 GetUserByID): `{user, version}`, the version being its sequence. */
  async user(id) {
    const answer = await this.call('GET', `/v2/users/${encodeURIComponent(id)}`);
    return { user: answer.user, version: answer.details?.sequence ?? answer.user?.details?.sequence };
  }

  /** A new human user (v2 AddHumanUser) in `org`: its id. */
  async addHuman({ username, email, givenName, familyName, org }) {
    const body = { username, profile: { givenName, familyName }, email: { email } };
    if (org) body.organization = { orgId: org };
    return (await this.call('POST', '/v2/users/human', { body })).userId;
  }

  /**
   * Replaces the profile (v1 UpdateHumanProfile) if the user is still at `version`: the new
   * version.
   */
  async updateProfile(id, org, version, profile) {
    const path = `/management/v1/users/${encodeURIComponent(id)}/profile`;
    const answer = await this.call('PUT', path, { body: profile, org, ifMatch: version });
    return answer.details?.sequence;
  }

  /** Every change of the user, newest first (v1 ListUserChanges, paged through). */
  async changes(id, org) {
    const path = `/management/v1/users/${encodeURIComponent(id)}/changes/_search`;
    const limit = 100;
    const all = [];
    let cursor = '0';
    for (;;) {
      const answer = await this.call('POST', path, { body: { query: { sequence: cursor, limit, asc: false } }, org });
      const page = answer.result || [];
      all.push(...page);
      const last = page.at(-1)?.sequence;
      if (page.length < limit || !last || last === cursor) return all;
      cursor = last;
    }
  }
}
