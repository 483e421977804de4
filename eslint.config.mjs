import tseslint from "typescript-eslint";

/** jQuery calls that take markup: in the widget, markup reaches the page only through widget/src/dom.ts. */
const MARKUP_METHODS = "/^(html|append|prepend|after|before|replaceWith|wrap|wrapInner|insertAdjacentHTML)$/";

export default tseslint.config(
  { ignores: ["node_modules/", ".next/", ".data/", "lib/db/generated/", "next-env.d.ts"] },
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    // The Kommo widget runs in the browser, inside Kommo's page.
    files: ["widget/src/**/*.ts"],
    rules: {
      "no-restricted-globals": [
        "error",
        ...["process", "Buffer", "require", "module", "__dirname", "__filename", "global", "setImmediate"].map((name) => ({
          name,
          message: "the widget runs in the browser",
        })),
      ],
      "no-restricted-imports": [
        "error",
        {
          patterns: [{ group: ["@/*", "../../*"], message: "import backend code only through widget/src/backend.ts" }],
          paths: [{ name: "./html", importNames: ["raw"], message: "raw() is for the icon shapes in icons.ts; build markup with html``" }],
        },
      ],
      "no-restricted-syntax": [
        "error",
        {
          selector: `CallExpression[callee.property.name=${MARKUP_METHODS}] > :matches(Literal, TemplateLiteral, BinaryExpression).arguments`,
          message: "markup is made with html`` and put into the page with fill() or element() from ./dom",
        },
        { selector: "MemberExpression[property.name=/^(innerHTML|outerHTML)$/]", message: "use fill() or element() from ./dom" },
        {
          // jQuery reads a string with "<" in it as markup: $() takes a fixed selector or an element.
          selector: "CallExpression[callee.name='$'] > :matches(TemplateLiteral[expressions.length>0], BinaryExpression, Literal[value=/</]).arguments",
          message: "make elements with element(html`...`); select with a fixed selector",
        },
      ],
    },
  },
  {
    files: ["widget/src/backend.ts"],
    rules: { "no-restricted-imports": "off" },
  },
  {
    files: ["widget/src/icons.ts"],
    rules: { "no-restricted-imports": ["error", { patterns: [{ group: ["@/*", "../../*"], message: "import backend code only through widget/src/backend.ts" }] }] },
  },
  {
    files: ["widget/src/dom.ts"],
    rules: { "no-restricted-syntax": "off" },
  },
);
