import { Writable } from "node:stream";
import { createLogger, redactUrl } from "@taskmesh/core";
import { describe, expect, it } from "vitest";

describe("redactUrl (every service's request log)", () => {
  it.each([
    ["/v1/stream?access_token=eyJ.a.b", "/v1/stream?access_token=[redacted]"],
    ["/V1/stream/?ACCESS_TOKEN=eyJ.a.b&x=1", "/V1/stream/?ACCESS_TOKEN=[redacted]&x=1"],
    ["/v1/stream?ticket=tmst_abc", "/v1/stream?ticket=[redacted]"],
    ["/oauth/callback?code=xyz&state=s", "/oauth/callback?code=[redacted]&state=s"],
    ["/x?Token=1&token=2&refresh_token=3", "/x?Token=[redacted]&token=[redacted]&refresh_token=[redacted]"],
    [
      "/x?client_secret=s&my_api_key=k&PassWord=p",
      "/x?client_secret=[redacted]&my_api_key=[redacted]&PassWord=[redacted]",
    ],
    ["/x?access%5Ftoken=t", "/x?access%5Ftoken=[redacted]"],
    ["/v1/tasks?q=release&status=open", "/v1/tasks?q=release&status=open"],
    ["/v1/tasks", "/v1/tasks"],
  ])("when %s is logged, then it reads %s", (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });

  it("when a service logs a url field, then its credentials are redacted too", () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _e, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger({ service: "test", destination: sink });
    logger.info({ url: "https://hooks.example/x?token=secret-value" }, "delivering");
    expect(lines.join("")).toContain("token=[redacted]");
    expect(lines.join("")).not.toContain("secret-value");
  });
});
