/** Transpile-only (swc): type-checking is `npm run build`, kept out of the test loop for speed. */
module.exports = {
  testEnvironment: "node",
  testEnvironmentOptions: { globalsCleanup: "off" },
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  testPathIgnorePatterns: ["/node_modules/", "/test/e2e/"],
  transform: { "^.+\\.ts$": ["@swc/jest", { jsc: { target: "es2022" } }] },
  testTimeout: 30000,
  // Two cores here and in CI; the default (cores - 1) would run one file at a time.
  maxWorkers: 2,
};
