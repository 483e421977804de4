import tseslint from "typescript-eslint";

/**
 * The layers of lib/, top to bottom. A module may import from its own folder and from the layers
 * below its own, never from a layer above or beside it: so there is no import cycle between
 * folders, and a new one fails `npm run lint`. Features sit above the integrations they use; a
 * feature may use a feature listed below it, and the few cross-feature triggers live in
 * lib/orchestration.ts. (The same picture, in words, is in README.md.)
 */
const LAYERS = [
  ["entry", ["lib/worker.ts", "lib/worker-main.ts", "lib/migrate.ts", "lib/reseal-secrets.ts"]],
  ["features/dashboard", ["lib/features/dashboard/**"]],
  ["features/widget-api", ["lib/features/widget-api/**"]],
  ["features/schedule", ["lib/features/schedule/**"]],
  ["features/install", ["lib/features/install/**"]],
  ["orchestration", ["lib/orchestration.ts"]],
  ["features/backfill", ["lib/features/backfill/**"]],
  ["features/reconcile", ["lib/features/reconcile/**"]],
  ["features/activity", ["lib/features/activity/**"]],
  ["features/intake", ["lib/features/intake/**"]],
  ["features/digital-pipeline", ["lib/features/digital-pipeline/**"]],
  ["features/sync", ["lib/features/sync/**"]],
  ["features/consent", ["lib/features/consent/**"]],
  ["features/settings", ["lib/features/settings/**"]],
  ["features/health", ["lib/features/health/**"]],
  ["integrations/kommo", ["lib/integrations/kommo/**"]],
  ["integrations/klaviyo", ["lib/integrations/klaviyo/**"]],
  ["jobs", ["lib/jobs/**"]],
  ["rate-limit", ["lib/rate-limit/**"]],
  ["db", ["lib/db/**"]],
  ["platform", ["lib/platform/**"]],
  // The typed error codes and skip reasons: a leaf every layer may use.
  ["outcomes", ["lib/outcomes.ts"]],
];

/** The import specifiers that reach a layer's modules. */
const specifiersOf = (name) =>
  name === "entry"
    ? ["@/lib/worker", "@/lib/worker-main", "@/lib/migrate", "@/lib/reseal-secrets"]
    : name.includes("/") || !["orchestration", "outcomes"].includes(name)
      ? [`@/lib/${name}`, `@/lib/${name}/*`]
      : [`@/lib/${name}`];

/** jQuery calls that take markup: in the widget, markup reaches the page only through widget/src/dom.ts. */
const MARKUP_METHODS = "/^(html|append|prepend|after|before|replaceWith|wrap|wrapInner|insertAdjacentHTML)$/";

const outsideLib = ["@/app/*", "@/tests/*", "@/scripts/*", "@/bench/*", "@/widget/*"];

const layerRules = LAYERS.map(([name, files], index) => ({
  files,
  rules: {
    "no-restricted-imports": [
      "error",
      {
        patterns: [
          ...(index === 0 ? [] : [{
            group: LAYERS.slice(0, index + 1)
              .filter(([other]) => other !== name)
              .flatMap(([other]) => specifiersOf(other)),
            message: `lib/${name} may import only the layers below it (see the LAYERS list in eslint.config.mjs)`,
          }]),
          // Two integrations side by side know nothing of each other.
          ...(name.startsWith("integrations/")
            ? [{ group: LAYERS.filter(([other]) => other.startsWith("integrations/") && other !== name).flatMap(([other]) => specifiersOf(other)), message: "one integration never imports another" }]
            : []),
          { group: ["../*", "../../*"], message: "import another folder through @/lib/..., so that the layer rule sees it" },
          { group: outsideLib, message: "lib/ never imports the app, the tests, the scripts or the widget" },
        ],
      },
    ],
  },
}));

export default tseslint.config(
  { ignores: ["node_modules/", ".next/", ".data/", "lib/db/generated/", "next-env.d.ts"] },
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  ...layerRules,
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
