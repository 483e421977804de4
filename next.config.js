/** @type {import('next').NextConfig} */
const nextConfig = {
  // pg-boss, pg and pino load optional modules at run time; bundling them breaks those lookups.
  serverExternalPackages: ["pg-boss", "pg", "pino", "pino-pretty", "@prisma/adapter-pg"],
  poweredByHeader: false,
  experimental: {
    // Load a route's code on its first request, not every route at start: most processes serve
    // webhooks and the widget's API, and the dashboard's pages would hold about 25 MB for nothing.
    preloadEntriesOnStart: false,
  },
};

module.exports = nextConfig;
