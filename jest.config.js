/**
 * Transpile-only (ts-jest transpiles each file alone because tsconfig sets isolatedModules): type-checking is `npm run build`, kept out
 * of the test loop for speed.
 */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  testPathIgnorePatterns: ["/node_modules/", "/test/e2e/"],
  transform: { "^.+\\.ts$": ["ts-jest", { diagnostics: false }] },
  testTimeout: 30000,
  // Stops the run with what to install when shellcheck, fuser, bash or sshd is missing.
  globalSetup: "<rootDir>/test/support/requiredTools.js",
  // Two cores here and in CI; the default (cores - 1) would run one file at a time.
  maxWorkers: 2,
};
