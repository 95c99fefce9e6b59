/**
 * The opt-in end-to-end test on real AWS (`npm run e2e`; see test/e2e/cluster.e2e.test.ts).
 * Same transform as jest.config.js; only test/e2e, with time for a cluster's whole life.
 */
const base = require("./jest.config.js");

module.exports = {
  ...base,
  roots: ["<rootDir>/test/e2e"],
  testMatch: ["**/*.e2e.test.ts"],
  // The e2e test needs none of the local tools; it checks its own prerequisites.
  globalSetup: undefined,
  testPathIgnorePatterns: ["/node_modules/"],
  testTimeout: 120 * 60 * 1000,
  verbose: true,
};
