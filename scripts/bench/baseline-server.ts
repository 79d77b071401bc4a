/**
 * The benchmark's baseline: bare node:http + pg answering GET by id with the same SQL
 * task-api runs for GET /v1/tasks/:id (task + tags + the owner's zone), for the owner
 * given in a header. No framework, no auth, no validation, no logging.
 *   /tasks/:id           a plain pool.query (the minimal server: parsed and planned each time)
 *   /prepared/tasks/:id  the same named prepared statement task-api uses
 */
import http from "node:http";
import pg from "pg";
import { TASK_BY_ID_SQL as SQL } from "../../services/task-api/src/data/task.repository.ts";

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });

const server = http.createServer((req, res) => {
  if (req.url === "/healthz") {
    res.end("ok");
    return;
  }
  const url = req.url ?? "";
  const prepared = url.startsWith("/prepared/");
  const id = url.slice(url.lastIndexOf("/") + 1);
  const user = req.headers["x-user"];
  const query = prepared
    ? pool.query({ name: "task-by-id", text: SQL, values: [id, user] })
    : pool.query(SQL, [id, user]);
  query.then(
    (result) => {
      const row = result.rows[0] as Record<string, unknown> | undefined;
      res.writeHead(row ? 200 : 404, { "content-type": "application/json" });
      res.end(JSON.stringify(row ?? { error: "not found" }));
    },
    () => {
      res.writeHead(500);
      res.end();
    },
  );
});
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === "object" && address ? address.port : ""}\n`);
});
process.on("SIGTERM", () => {
  server.close();
  void pool.end();
});
