// A listener that shows exactly what a client sends: method, path, HTTP version, headers and
// body, one JSON line per request on standard output. It answers every call with an empty
// success in the protocol the request used (Connect JSON `{}`, Connect binary empty message,
// gRPC / gRPC-Web an empty message and status 0), so a client's whole flow goes through.
// It is a research tool for the server side, not a test double: no test depends on it.
//
// Usage: node capture.mjs PORT [--http2]   (--http2: h2c with prior knowledge, for gRPC)

import http from "node:http";
import http2 from "node:http2";

const port = Number(process.argv[2] ?? 0);
const h2 = process.argv.includes("--http2");

function grpcFrame(flags, payload) {
  const frame = Buffer.alloc(5 + payload.length);
  frame.writeUInt8(flags, 0);
  frame.writeUInt32BE(payload.length, 1);
  payload.copy(frame, 5);
  return frame;
}

function handle(req, res) {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    const type = String(req.headers["content-type"] ?? "");
    const printable = type.includes("json") && !type.includes("grpc");
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !k.startsWith(":")));
    console.log(
      JSON.stringify({
        method: req.method,
        path: req.url,
        http_version: req.httpVersion,
        headers,
        body: printable ? body.toString("utf8") : undefined,
        body_hex: printable ? undefined : body.toString("hex"),
      }),
    );
    if (type.startsWith("application/grpc-web")) {
      const base = type.split("+")[1] ? type : "application/grpc-web+proto";
      res.writeHead(200, { "content-type": base });
      res.end(Buffer.concat([grpcFrame(0, Buffer.alloc(0)), grpcFrame(0x80, Buffer.from("grpc-status: 0\r\n"))]));
    } else if (type.startsWith("application/grpc")) {
      res.writeHead(200, { "content-type": type });
      res.addTrailers({ "grpc-status": "0" });
      res.end(grpcFrame(0, Buffer.alloc(0)));
    } else if (type.startsWith("application/json")) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    } else {
      res.writeHead(200, { "content-type": type || "application/proto" });
      res.end();
    }
  });
}

const server = h2 ? http2.createServer(handle) : http.createServer(handle);
server.listen(port, "127.0.0.1", () => {
  console.error(`capture listening on 127.0.0.1:${server.address().port} (${h2 ? "h2c" : "HTTP/1.1"})`);
});
