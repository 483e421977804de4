/** @type {import('next').NextConfig} */
const nextConfig = {
  // pg-boss, pg and pino load optional modules at run time; bundling them breaks those lookups.
  serverExternalPackages: ["pg-boss", "pg", "pino", "pino-pretty", "@prisma/adapter-pg"],
  poweredByHeader: false,
};

module.exports = nextConfig;
