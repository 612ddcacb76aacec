// Drives Persona's `zitadel.user.v2.UserService` with ZITADEL's own Node SDK (`@zitadel/client`
// and its `@zitadel/proto` descriptors) over a transport of `@connectrpc/connect-node`.
//
// It runs one user's life and prints one JSON line per step on standard output, the same steps
// and fields as ../python/v2_flow.py, so that tests/e2e/sdk.rs judges both alike:
//
//   {"step":"add","ok":true,"user_id":"...","sequence":"1",...}
//   {"step":"get_after_delete","ok":false,"code":"not_found","grpc_code":5,"message":"..."}
//
// Nothing is asserted here. Exit 0 when every step ran (whatever the server answered), 2 when
// the SDK or this script broke.
//
// Usage: node v2_flow.mjs BASE_URL TOKEN --transport connect|grpc|grpc-web
//          [--http 1.1|2] [--json] [--tag TAG] [--v1-user ID] [--header NAME:VALUE ...] [--pause]
//   grpc is @zitadel/client's own createServerTransport (gRPC over HTTP/2, h2c on http://);
//   connect and grpc-web are connect-node's transports, HTTP/1.1 unless --http 2, binary
//   protobuf unless --json. --pause: before deleting, print a "paused" line and wait for a line
//   on standard input (the caller checks the user over v1 meanwhile).

import { once } from "node:events";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { Code, ConnectError } from "@connectrpc/connect";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { NewAuthorizationBearerInterceptor } from "@zitadel/client";
import { createServerTransport } from "@zitadel/client/node";
import { createUserServiceClient } from "@zitadel/client/v2";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { TextQueryMethod } from "@zitadel/proto/zitadel/object/v2/object_pb.js";
import { Gender, GenderSchema, UserStateSchema } from "@zitadel/proto/zitadel/user/v2/user_pb.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    transport: { type: "string" },
    http: { type: "string", default: "1.1" },
    json: { type: "boolean", default: false },
    tag: { type: "string", default: "node" },
    "v1-user": { type: "string" },
    header: { type: "string", multiple: true, default: [] },
    pause: { type: "boolean", default: false },
  },
});
const [baseUrl, token] = positionals;
if (!baseUrl || !token || !["connect", "grpc", "grpc-web"].includes(values.transport)) {
  console.error("usage: node v2_flow.mjs BASE_URL TOKEN --transport connect|grpc|grpc-web [--http 1.1|2] [--json]");
  process.exit(2);
}

// Extra headers (such as x-zitadel-orgid) on every call, as an application would add them.
const extra = values.header.map((h) => {
  const at = h.indexOf(":");
  return [h.slice(0, at).trim(), h.slice(at + 1).trim()];
});
const headers = (next) => (req) => {
  for (const [name, value] of extra) req.header.set(name, value);
  return next(req);
};

function transport() {
  const common = { baseUrl, useBinaryFormat: !values.json };
  if (values.transport === "grpc") {
    return createServerTransport(token, { ...common, interceptors: [headers] });
  }
  const options = { ...common, httpVersion: values.http, interceptors: [headers, NewAuthorizationBearerInterceptor(token)] };
  return values.transport === "connect" ? createConnectTransport(options) : createGrpcWebTransport(options);
}

const users = createUserServiceClient(transport());

const enumName = (schema, n) => (n === undefined ? null : (schema.values.find((v) => v.number === n)?.name ?? String(n)));
const stamp = (ts) => (ts ? timestampDate(ts).toISOString() : null);
const text = (n) => (n === undefined || n === null ? null : String(n));
const snake = (code) => Code[code].replace(/[A-Z]/g, (c, i) => (i ? "_" : "") + c.toLowerCase());

function details(d) {
  if (!d) return { sequence: null };
  return {
    sequence: text(d.sequence),
    resource_owner: d.resourceOwner,
    change_date: stamp(d.changeDate),
    creation_date: stamp(d.creationDate),
  };
}

function user(u) {
  if (!u) return { user_id: null };
  const out = {
    user_id: u.userId,
    state: enumName(UserStateSchema, u.state),
    username: u.username,
    login_names: u.loginNames,
    preferred_login_name: u.preferredLoginName,
    ...details(u.details),
  };
  if (u.type.case === "human") {
    const { profile, email, phone } = u.type.value;
    if (profile) {
      Object.assign(out, {
        given_name: profile.givenName,
        family_name: profile.familyName,
        nick_name: profile.nickName ?? null,
        display_name: profile.displayName ?? null,
        preferred_language: profile.preferredLanguage ?? null,
        gender: enumName(GenderSchema, profile.gender),
      });
    }
    if (email) Object.assign(out, { email: email.email, email_verified: email.isVerified });
    if (phone) Object.assign(out, { phone: phone.phone, phone_verified: phone.isVerified });
  }
  return out;
}

const listed = (a) => ({
  total_result: text(a.details?.totalResult),
  user_ids: a.result.map((u) => u.userId),
  users: a.result.map(user),
});

// Runs one SDK call and prints its outcome as one JSON line; the answer, or null on an error.
async function report(step, call, describe) {
  let answer;
  try {
    answer = await call();
  } catch (e) {
    if (!(e instanceof ConnectError)) throw e;
    console.log(JSON.stringify({ step, ok: false, code: snake(e.code), grpc_code: e.code, message: e.rawMessage }));
    return null;
  }
  console.log(JSON.stringify({ step, ok: true, ...describe(answer) }));
  return answer;
}

const name = `sdk-${values.tag}`;
const email = `ada-${values.tag}@example.com`;
const get = (step, userId) => report(step, () => users.getUserByID({ userId }), (a) => user(a.user));
const listUsers = (step, query) =>
  report(step, () => users.listUsers({ query: { limit: 10 }, queries: [{ query }] }), listed);
const changeDate = (a) => ({ change_date: stamp(a.changeDate) });

async function main() {
  const added = await report(
    "add",
    () =>
      users.addHumanUser({
        username: name,
        profile: {
          givenName: "Ada",
          familyName: "Lovelace",
          nickName: "Ada",
          displayName: "Ada Lovelace",
          preferredLanguage: "en",
          gender: Gender.FEMALE,
        },
        email: { email, verification: { case: "returnCode", value: {} } },
        phone: { phone: "+41791234567", verification: { case: "isVerified", value: true } },
      }),
    (a) => ({ user_id: a.userId, ...details(a.details), email_code: a.emailCode ?? null, phone_code: a.phoneCode ?? null }),
  );
  if (!added) return;
  const userId = added.userId;

  await get("get", userId);
  await report(
    "update_human",
    () => users.updateHumanUser({ userId, profile: { givenName: "Augusta", familyName: "King", displayName: "Ada King" } }),
    (a) => ({ ...details(a.details), email_code: a.emailCode ?? null, phone_code: a.phoneCode ?? null }),
  );
  await get("get_after_update_human", userId);

  const updateUser = {
    userId,
    userType: { case: "human", value: { profile: { nickName: "Countess", preferredLanguage: "de" } } },
  };
  await report("update_user", () => users.updateUser(updateUser), changeDate);
  await get("get_after_update_user", userId);
  await report("update_user_noop", () => users.updateUser(updateUser), changeDate);

  await report(
    "invalid_given_name",
    () => users.updateHumanUser({ userId, profile: { givenName: "", familyName: "King" } }),
    (a) => details(a.details),
  );
  await report(
    "add_send_code",
    () =>
      users.addHumanUser({
        username: `${name}-mail`,
        profile: { givenName: "Mail", familyName: "Sender" },
        email: { email: `mail-${values.tag}@example.com`, verification: { case: "sendCode", value: {} } },
      }),
    (a) => ({ user_id: a.userId }),
  );

  const byName = { case: "userNameQuery", value: { userName: name, method: TextQueryMethod.EQUALS } };
  await listUsers("list_by_username", byName);
  await listUsers("list_by_email", {
    case: "emailQuery",
    value: { emailAddress: email.toUpperCase(), method: TextQueryMethod.EQUALS_IGNORE_CASE },
  });

  const v1 = values["v1-user"];
  if (v1) {
    await get("v1_get", v1);
    await report(
      "v1_update_user",
      () => users.updateUser({ userId: v1, userType: { case: "human", value: { profile: { givenName: "Grace" } } } }),
      changeDate,
    );
    await get("v1_get_after_update", v1);
  }

  if (values.pause) {
    // The caller checks the user over v1 now (its history is gone once it is deleted).
    const lines = createInterface({ input: process.stdin });
    console.log(JSON.stringify({ step: "paused", ok: true, user_id: userId }));
    await once(lines, "line");
    lines.close();
  }

  await report("delete", () => users.deleteUser({ userId }), (a) => details(a.details));
  await get("get_after_delete", userId);
  await report("update_after_delete", () => users.updateUser(updateUser), changeDate);
  await listUsers("list_after_delete", byName);
}

main().catch((e) => {
  console.log(JSON.stringify({ step: "sdk", ok: false, error: String(e?.stack ?? e) }));
  process.exit(2);
});
