import type { Lifecycle } from "@taskmesh/core";
import { describe, expect, it } from "vitest";
import type { Database } from "../../services/task-api/src/data/database.ts";
import { expectProblem, useTaskApi } from "../support/task-api-fixtures.ts";

describe("liveness and readiness", () => {
  const lifecycle: Lifecycle = { draining: false };
  const api = useTaskApi({ lifecycle });

  it("when /healthz is called without credentials, then 200 ok", async () => {
    const res = await api.request.get("/healthz").expect(200);

    expect(res.body).toEqual({ status: "ok" });
  });

  it("when the database answers, then /readyz is 200 with the database check ok", async () => {
    const res = await api.request.get("/readyz").expect(200);

    expect(res.body).toEqual({ status: "ready", checks: { database: "ok" } });
  });

  it("when the service is draining, then /readyz is 503 problem+json while /healthz stays 200, and both recover", async () => {
    lifecycle.draining = true;
    try {
      const res = await api.request.get("/readyz");

      expectProblem(res, 503, "unavailable");
      expect(res.body).toMatchObject({
        instance: "/readyz",
        requestId: res.headers["x-request-id"],
      });
      await api.request.get("/healthz").expect(200);
    } finally {
      lifecycle.draining = false;
    }
    await api.request.get("/readyz").expect(200);
  });

  it("when the service is draining, then in-flight API traffic is still served", async () => {
    const user = await api.signUp();
    lifecycle.draining = true;
    try {
      await api.as(user).get("/v1/me").expect(200);
    } finally {
      lifecycle.draining = false;
    }
  });
});

describe("readiness with a database that does not answer", () => {
  const DRIVER_MESSAGE = "connect ECONNREFUSED 10.1.2.3:5432 (user taskmesh_owner)";
  const down: Database = {
    prisma: {} as Database["prisma"],
    read: { query: () => Promise.reject(new Error(DRIVER_MESSAGE)) },
    transaction: () => Promise.reject(new Error(DRIVER_MESSAGE)),
  };
  const api = useTaskApi({ db: down });

  it("when the database check fails, then /readyz is 503 naming the failed check without the driver's message", async () => {
    const res = await api.request.get("/readyz");

    expectProblem(res, 503, "unavailable");
    expect(res.body).toMatchObject({ checks: { database: "failed" } });
    expect(res.text).not.toContain("ECONNREFUSED");
    expect(res.text).not.toContain("10.1.2.3");
    await api.request.get("/healthz").expect(200);
  });
});

describe("/metrics", () => {
  const api = useTaskApi();

  function durationSamples(text: string): { labels: Record<string, string>; value: number }[] {
    return text
      .split("\n")
      .filter((line) => line.startsWith("http_request_duration_seconds_count{"))
      .map((line) => {
        const [, labelText = "", value = "0"] = /^[^{]+\{(.*)\} (\S+)$/.exec(line) ?? [];
        const labels = Object.fromEntries(
          [...labelText.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1] ?? "", m[2] ?? ""]),
        );
        return { labels, value: Number(value) };
      });
  }

  it("when API routes with ids are called, then durations are labelled by route pattern and status, never by raw id", async () => {
    const user = await api.signUp();
    const list = (await api.as(user).post("/v1/lists", { name: "Metered" }).expect(201)).body as {
      id: string;
    };
    const task = (await api.as(user).post("/v1/tasks", { title: "metered" }).expect(201)).body as {
      id: string;
    };
    const missing = crypto.randomUUID();
    await api.as(user).get(`/v1/lists/${list.id}`).expect(200);
    await api.as(user).get(`/v1/tasks/${task.id}`).expect(200);
    await api.as(user).get(`/v1/tasks/${missing}`).expect(404);
    await api.as(user).post(`/v1/tasks/${task.id}/complete`).expect(200);

    const res = await api.opsRequest.get("/metrics").expect(200);

    expect(res.headers["content-type"]).toMatch(/^text\/plain/);
    expect(res.text).toContain("# TYPE http_request_duration_seconds histogram");
    const samples = durationSamples(res.text);
    const seen = samples.map(
      (s) => `${s.labels.method ?? ""} ${s.labels.route ?? ""} ${s.labels.status ?? ""}`,
    );
    expect(seen).toEqual(
      expect.arrayContaining([
        "POST /v1/lists 201",
        "POST /v1/tasks 201",
        "GET /v1/lists/:id 200",
        "GET /v1/tasks/:id 200",
        "GET /v1/tasks/:id 404",
        "POST /v1/tasks/:id/complete 200",
      ]),
    );
    for (const sample of samples) expect(sample.labels.service).toBe("task-api");
    for (const id of [list.id, task.id, missing, user.id]) expect(res.text).not.toContain(id);
  });

  it("when a request matches no route, then it is counted as unmatched, not by its path", async () => {
    const path = `/no-such-route-${crypto.randomUUID()}`;
    await api.request.get(path).expect(404);

    const res = await api.opsRequest.get("/metrics").expect(200);

    expect(res.text).not.toContain(path);
    expect(
      durationSamples(res.text).some((s) => s.labels.route === "unmatched" && s.labels.status === "404"),
    ).toBe(true);
  });

  it("when /metrics is scraped, then the process's default metrics are there too", async () => {
    const res = await api.opsRequest.get("/metrics").expect(200);

    expect(res.text).toMatch(/^process_cpu_user_seconds_total\{service="task-api"\} /m);
    expect(res.text).toContain("nodejs_eventloop_lag_seconds");
  });
});

describe("service index", () => {
  const api = useTaskApi();

  it("when / is called, then it points at the docs, the OpenAPI document, auth and the API", async () => {
    const res = await api.request.get("/").expect(200);

    expect(res.body).toEqual({
      service: "taskmesh task-api",
      docs: "/docs",
      openapi: "/openapi.json",
      auth: "/api/auth",
      api: "/v1",
    });
  });
});
