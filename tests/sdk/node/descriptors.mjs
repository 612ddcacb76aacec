// Writes the file descriptors that the published `@zitadel/proto` package was generated from
// as one binary `google.protobuf.FileDescriptorSet` on stdout: `zitadel/user/v2/user_service.proto`
// and every file it imports, transitively, dependencies before their dependents.
//
// The Rust test `crates/api-grpc/tests/published.rs` compares Persona's own descriptors with
// this set, so that Persona's `.proto` files keep ZITADEL's names and field numbers.
//
// Usage: node tests/sdk/node/descriptors.mjs > published.binpb

import { create, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { file_zitadel_user_v2_user_service } from "@zitadel/proto/zitadel/user/v2/user_service_pb.js";

const roots = [file_zitadel_user_v2_user_service];

const ordered = [];
const seen = new Set();
function visit(file) {
  if (seen.has(file.proto.name)) {
    return;
  }
  seen.add(file.proto.name);
  for (const dependency of file.dependencies) {
    visit(dependency);
  }
  ordered.push(file.proto);
}
roots.forEach(visit);

const set = create(FileDescriptorSetSchema, { file: ordered });
process.stdout.write(toBinary(FileDescriptorSetSchema, set));
