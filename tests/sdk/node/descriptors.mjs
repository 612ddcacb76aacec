// Writes the protobuf descriptors ZITADEL publishes in @zitadel/proto for
// `zitadel.user.v2.UserService`, with every file they import, as one binary
// google.protobuf.FileDescriptorSet (dependencies first). `buf curl --schema FILE` reads it, so
// the tests call Persona's v2 with ZITADEL's own schema rather than the project's .proto files,
// over Connect too, where buf cannot read server reflection (a gRPC stream).
//
// Usage: node descriptors.mjs OUT.binpb

import { writeFileSync } from "node:fs";
import { create, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { file_zitadel_user_v2_user_service } from "@zitadel/proto/zitadel/user/v2/user_service_pb.js";

const out = process.argv[2];
if (!out) {
  console.error("usage: node descriptors.mjs OUT.binpb");
  process.exit(2);
}
const ordered = [];
const seen = new Set();
(function visit(file) {
  if (seen.has(file.name)) return;
  seen.add(file.name);
  file.dependencies.forEach(visit);
  ordered.push(file.proto);
})(file_zitadel_user_v2_user_service);
writeFileSync(out, toBinary(FileDescriptorSetSchema, create(FileDescriptorSetSchema, { file: ordered })));
console.error(`${out}: ${ordered.length} files`);
