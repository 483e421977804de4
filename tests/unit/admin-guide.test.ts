// docs/admins.md's sync problems section is the product's own table of outcomes, word for word.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { SYNC_ERRORS } from "@/lib/outcomes";
import { ADMIN_GUIDE, SECTION_END, SECTION_START, syncProblemsSection, withGeneratedSection } from "../../scripts/admin-guide";

describe("docs/admins.md", () => {
  const guide = readFileSync(ADMIN_GUIDE, "utf8");

  it("holds the section generated from lib/outcomes.ts (run npm run docs:admins after changing an outcome)", () => {
    expect(guide).toContain(syncProblemsSection());
    expect(withGeneratedSection(guide)).toBe(guide);
  });

  it("names every sync error code, and a fix for each one that needs a person", () => {
    const section = syncProblemsSection();
    for (const [code, info] of Object.entries(SYNC_ERRORS)) {
      expect(section).toContain(`\`${code}\``);
      if ("fix" in info) expect(section).toContain(info.fix.replace(/\|/g, "\\|"));
    }
  });

  it("notices a guide whose section was edited by hand", () => {
    const edited = guide.replace(SECTION_START, `${SECTION_START}\nA line someone added.`);
    expect(withGeneratedSection(edited)).not.toBe(edited);
    expect(() => withGeneratedSection(guide.replace(SECTION_END, ""))).toThrow(/markers/);
  });
});
