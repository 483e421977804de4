// The widget's html`` template: every value is text unless it is markup made by html`` itself.
import { describe, expect, it } from "vitest";
import { html, httpsUrl, raw } from "@/widget/src/html";

const HOSTILE = `<img src=x onerror="window.__pwned=1">'&`;

describe("html``", () => {
  it("escapes every interpolated string and number, in text and in attributes", () => {
    expect(html`<p title="${HOSTILE}">${HOSTILE} ${42}</p>`.toString()).toBe(
      "<p title=\"&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;&#39;&amp;\">&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;&#39;&amp; 42</p>",
    );
  });

  it("keeps nested html`` as markup, joins arrays and leaves out null, undefined and false", () => {
    const items = ["a<b", "c"].map((item) => html`<li>${item}</li>`);
    expect(html`<ul>${items}</ul>${null}${undefined}${false}${html`<br>`}`.toString()).toBe("<ul><li>a&lt;b</li><li>c</li></ul><br>");
  });

  it("does not take a look-alike object for markup", () => {
    const fake = { markup: "<script>", toString: () => "<script>" } as unknown as Parameters<typeof html>[1];
    expect(html`${fake}`.toString()).toBe("&lt;script&gt;");
  });

  it("passes raw() through unchanged (for the widget's own icon shapes)", () => {
    expect(html`<svg>${raw('<path d="M0 0"/>')}</svg>`.toString()).toBe('<svg><path d="M0 0"/></svg>');
  });
});

describe("httpsUrl", () => {
  it("lets only https URLs become link targets", () => {
    expect(httpsUrl("https://www.klaviyo.com/profile/01ABC")).toBe("https://www.klaviyo.com/profile/01ABC");
    for (const bad of ["javascript:window.__pwned=1", "JaVaScRiPt:alert(1)", "data:text/html,<script>", "http://example.com", "//evil.example", "not a url", null, 7]) {
      expect(httpsUrl(bad), String(bad)).toBeNull();
    }
  });
});
