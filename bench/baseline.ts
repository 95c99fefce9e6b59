/**
 * The figures `npm run bench` printed before no node was special (issue 11), at commit a4bd02f,
 * where every join waited for a `creds` step on cp-0 (a fresh token and certificate upload) and
 * a last step read admin.conf back. Measured on 2026-12-04 by running this benchmark at that
 * commit (`git worktree add /tmp/base a4bd02f && cd /tmp/base && npm ci && npm run bench`).
 * The benchmark prints them next to today's so a regression in either shows.
 */
export const BEFORE_NO_SPECIAL_NODE = {
  commit: "a4bd02f",
  sizes: {
    "3+3": { commands: 31, chain: 10, modeledSeconds: 705 },
    "3+50": { commands: 266, chain: 10, modeledSeconds: 705 },
  },
} as const;
