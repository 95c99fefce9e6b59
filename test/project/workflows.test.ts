/**
 * The CI workflows, validated as data: no runner is needed to catch a missing step, an unpinned
 * action, a secret echoed by a shell step or an ungated deployment.
 */
import * as fs from "fs";
import * as path from "path";
import { parseDocument } from "yaml";

interface Step {
  name?: string;
  if?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}

interface Concurrency {
  group: string;
  "cancel-in-progress"?: boolean;
}

interface Job {
  name?: string;
  "runs-on"?: string;
  needs?: string | string[];
  if?: string;
  environment?: string | { name: string };
  concurrency?: string | Concurrency;
  permissions?: Record<string, string>;
  strategy?: { matrix?: Record<string, unknown> };
  env?: Record<string, string>;
  steps: Step[];
}

interface Workflow {
  name: string;
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  concurrency?: string | Concurrency;
  jobs: Record<string, Job>;
}

const ROOT = path.join(__dirname, "..", "..");
const WORKFLOW_DIR = path.join(ROOT, ".github", "workflows");
const FILES = ["pull_request.yml", "push.yml", "drift.yml"] as const;

const text = (file: string): string => fs.readFileSync(path.join(WORKFLOW_DIR, file), "utf8");

function load(file: string): Workflow {
  const doc = parseDocument(text(file), { uniqueKeys: true });
  if (doc.errors.length > 0 || doc.warnings.length > 0) {
    throw new Error(
      `${file}: ${[...doc.errors, ...doc.warnings].map((e) => e.message).join("; ")}`,
    );
  }
  return doc.toJS() as Workflow;
}

const pr = load("pull_request.yml");
const push = load("push.yml");
const all: [string, Workflow][] = [
  ["pull_request.yml", pr],
  ["push.yml", push],
];

const stepsOf = (wf: Workflow): Step[] => Object.values(wf.jobs).flatMap((job) => job.steps);
const runText = (job: Job): string => job.steps.map((s) => s.run ?? "").join("\n");
const stepUsing = (job: Job, action: string): Step | undefined =>
  job.steps.find((s) => s.uses?.split("@")[0] === action);
const indexOfStep = (job: Job, match: (s: Step) => boolean): number => job.steps.findIndex(match);
const asList = (v: string | string[] | undefined): string[] =>
  v === undefined ? [] : Array.isArray(v) ? v : [v];
const concurrencyOf = (c: string | Concurrency | undefined): Concurrency | undefined =>
  typeof c === "string" ? { group: c } : c;

describe("workflow files", () => {
  test.each(FILES)("%s parses as YAML with a name, triggers and jobs that have steps", (file) => {
    const wf = load(file);
    expect(typeof wf.name).toBe("string");
    expect(wf.on).toBeInstanceOf(Object);
    expect(Object.keys(wf.jobs).length).toBeGreaterThan(0);
    for (const [id, job] of Object.entries(wf.jobs)) {
      expect([id, typeof job["runs-on"]]).toEqual([id, "string"]);
      expect([id, Array.isArray(job.steps) && job.steps.length > 0]).toEqual([id, true]);
    }
  });

  test("pull_request.yml runs on pull requests and push.yml only on pushes to main", () => {
    expect(Object.keys(pr.on)).toEqual(["pull_request"]);
    expect(Object.keys(push.on)).toEqual(["push"]);
    expect((push.on.push as { branches: string[] }).branches).toEqual(["main"]);
  });

  test.each(all)("%s grants only read access to the repository by default", (_file, wf) => {
    expect(wf.permissions).toEqual({ contents: "read" });
  });

  test("pins every action to a full version tag or a commit SHA", () => {
    const uses = all.flatMap(([, wf]) => stepsOf(wf).flatMap((s) => (s.uses ? [s.uses] : [])));
    expect(uses.length).toBeGreaterThan(0);
    for (const ref of uses) {
      expect(ref).toMatch(/^[\w.-]+\/[\w./-]+@(v\d+\.\d+\.\d+|[0-9a-f]{40})$/);
    }
  });

  test("names the release next to every SHA pin, so a reviewer and Dependabot can read it", () => {
    for (const file of FILES) {
      for (const line of text(file).split("\n")) {
        if (/uses:\s*\S+@[0-9a-f]{40}/.test(line)) {
          expect(line).toMatch(/@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
        }
      }
    }
  });

  test("pins each action to the same version everywhere", () => {
    const refs = new Map<string, Set<string>>();
    for (const [, wf] of all) {
      for (const step of stepsOf(wf)) {
        if (!step.uses) continue;
        const [action, ref] = step.uses.split("@") as [string, string];
        refs.set(action, (refs.get(action) ?? new Set()).add(ref));
      }
    }
    for (const [action, versions] of refs) expect([action, versions.size]).toEqual([action, 1]);
  });

  test("never puts a secret or any ${{ }} expression into a shell step (env only)", () => {
    for (const [file, wf] of all) {
      for (const step of stepsOf(wf)) {
        if (step.run === undefined) continue;
        expect([file, step.run]).not.toEqual([file, expect.stringContaining("secrets.")]);
        expect([file, step.run]).not.toEqual([file, expect.stringContaining("${{")]);
      }
    }
  });

  test("does not leave the checkout token in the workspace", () => {
    for (const [, wf] of all) {
      for (const step of stepsOf(wf).filter((s) => s.uses?.startsWith("actions/checkout@"))) {
        expect(step.with?.["persist-credentials"]).toBe(false);
      }
    }
  });
});

describe("the check job", () => {
  test.each(all)(
    "%s installs shellcheck, then runs npm ci and npm run check on Node 20",
    (_f, wf) => {
      const job = wf.jobs.check!;
      expect(job).toBeDefined();
      const shellcheck = indexOfStep(job, (s) => /apt-get install -y shellcheck/.test(s.run ?? ""));
      const ci = indexOfStep(job, (s) => /^npm ci\b/m.test(s.run ?? ""));
      const check = indexOfStep(job, (s) => /^npm run check\b/m.test(s.run ?? ""));
      expect(shellcheck).toBeGreaterThanOrEqual(0);
      expect(ci).toBeGreaterThan(shellcheck);
      expect(check).toBeGreaterThan(ci);
      expect(runText(job)).toContain("sudo apt-get install -y shellcheck");
      const node = stepUsing(job, "actions/setup-node");
      expect(node?.with).toMatchObject({ "node-version": 20, cache: "npm" });
    },
  );

  test("runs the same steps on main as on pull requests", () => {
    expect(push.jobs.check).toEqual(pr.jobs.check);
  });

  test("package.json defines the check script the job runs", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
    expect(pkg.scripts.check).toEqual(expect.stringContaining("npm test"));
  });
});

describe.each([
  ["the pull-request preview", () => pr.jobs.preview!],
  ["the deploy on main", () => push.jobs["deploy-dev"]!],
])("%s", (_name, jobOf) => {
  test("first decides whether the stack may run on a runner (my-ip), and skips Pulumi when not", () => {
    const job = jobOf();
    const decide = indexOfStep(job, (s) => /tools\/ciStack\.ts --stack/.test(s.run ?? ""));
    const pulumiAt = indexOfStep(job, (s) => s.uses?.startsWith("pulumi/actions@") ?? false);
    expect(decide).toBeGreaterThanOrEqual(0);
    expect(decide).toBeLessThan(pulumiAt);
    expect(job.steps[decide]!.env).toMatchObject({
      CI_INGRESS_CIDRS: "${{ vars.CI_INGRESS_CIDRS }}",
    });
    const pulumiStep = job.steps[pulumiAt]! as Step & { if?: string };
    expect(pulumiStep.if).toBe("steps.stack.outputs.skip != 'true'");
    expect(pulumiStep.with).toMatchObject({
      upsert: true,
      "config-map": "${{ steps.stack.outputs.config-map }}",
    });
  });
});

describe("the pull-request preview", () => {
  const job = pr.jobs.preview!;

  test("cancels the previous run of the same pull request", () => {
    const c = concurrencyOf(pr.concurrency);
    expect(c?.group).toContain("github.event.pull_request.number");
    expect(c?.["cancel-in-progress"]).toBe(true);
  });

  test("runs only after the check passes", () => {
    expect(asList(job.needs)).toContain("check");
  });

  test("is skipped for forks and repositories without the AWS role and state backend", () => {
    expect(job.if).toContain("vars.AWS_ROLE_ARN != ''");
    expect(job.if).toContain("vars.PULUMI_BACKEND_URL != ''");
    expect(job.if).toContain("github.event.pull_request.head.repo.full_name == github.repository");
  });

  test("may request an OIDC token and comment on the pull request, and nothing more", () => {
    expect(job.permissions).toEqual({
      "id-token": "write",
      contents: "read",
      "pull-requests": "write",
    });
  });

  test("assumes the AWS role through OIDC before running Pulumi", () => {
    const aws = stepUsing(job, "aws-actions/configure-aws-credentials");
    expect(aws?.with?.["role-to-assume"]).toBe("${{ vars.AWS_ROLE_ARN }}");
    expect(aws?.with).not.toHaveProperty("aws-access-key-id");
    const awsAt = indexOfStep(job, (s) => s === aws);
    const pulumiAt = indexOfStep(job, (s) => s.uses?.startsWith("pulumi/actions@") ?? false);
    expect(awsAt).toBeLessThan(pulumiAt);
    expect(indexOfStep(job, (s) => /^npm ci\b/m.test(s.run ?? ""))).toBeLessThan(pulumiAt);
  });

  test("posts a pulumi preview of every stack as a PR comment without printing outputs", () => {
    const step = stepUsing(job, "pulumi/actions");
    expect(step?.with).toMatchObject({
      command: "preview",
      "stack-name": "${{ matrix.stack }}",
      "comment-on-pr": true,
      "suppress-outputs": true,
    });
    expect(job.strategy?.matrix?.stack).toEqual(["dev", "prod"]);
  });

  test("previews only stacks that exist in the repository", () => {
    for (const stack of job.strategy?.matrix?.stack as string[]) {
      expect(fs.existsSync(path.join(ROOT, `Pulumi.${stack}.yaml`))).toBe(true);
    }
  });

  test("uses the shared state backend and takes the passphrase from secrets", () => {
    expect(stepUsing(job, "pulumi/actions")?.with?.["cloud-url"]).toBe(
      "${{ vars.PULUMI_BACKEND_URL }}",
    );
    // The project's Pulumi.yaml names file://~; only PULUMI_BACKEND_URL overrides it.
    expect(job.env?.PULUMI_BACKEND_URL).toBe("${{ vars.PULUMI_BACKEND_URL }}");
    expect(job.env?.PULUMI_CONFIG_PASSPHRASE).toBe("${{ secrets.PULUMI_CONFIG_PASSPHRASE }}");
  });
});

describe("the deployment on main", () => {
  const job = push.jobs["deploy-dev"]!;

  test("runs pulumi up on dev only after the check passes", () => {
    expect(asList(job.needs)).toContain("check");
    expect(stepUsing(job, "pulumi/actions")?.with).toMatchObject({
      command: "up",
      "stack-name": "dev",
      "suppress-outputs": true,
    });
  });

  test("is gated by the DEPLOY_ON_MAIN variable and the dev environment's reviewers", () => {
    expect(job.if).toContain("vars.DEPLOY_ON_MAIN == 'true'");
    const env = typeof job.environment === "string" ? job.environment : job.environment?.name;
    expect(env).toBe("dev");
  });

  test("never runs two ups at once and never cancels one half-way", () => {
    const c = concurrencyOf(job.concurrency);
    expect(c?.group).toBeTruthy();
    expect(c?.group).not.toContain("github.sha");
    expect(c?.group).not.toContain("github.run_id");
    expect(c?.["cancel-in-progress"]).toBe(false);
  });

  test("assumes the AWS role through OIDC", () => {
    expect(job.permissions?.["id-token"]).toBe("write");
    expect(
      stepUsing(job, "aws-actions/configure-aws-credentials")?.with?.["role-to-assume"],
    ).toMatch(/vars\.AWS_ROLE_ARN/);
  });
});

describe("the guest-plan diff", () => {
  const job = pr.jobs["guest-plan"]!;
  const runs = job.steps.map((s) => s.run ?? "").join("\n");

  test("checks out the base commit beside the head, each in its own folder", () => {
    const checkouts = job.steps.filter((s) => s.uses?.startsWith("actions/checkout@"));
    expect(checkouts.map((s) => s.with)).toEqual([
      expect.objectContaining({ path: "head", "persist-credentials": false }),
      expect.objectContaining({
        ref: "${{ github.event.pull_request.base.sha }}",
        path: "base",
        "persist-credentials": false,
      }),
    ]);
  });

  test("renders every stack on both sides, then diffs them with the head's differ", () => {
    expect(runs).toMatch(/for side in base head; do/);
    expect(runs).toMatch(/for file in "\$side"\/Pulumi\.\*\.yaml/);
    expect(runs).toContain(
      'npm run --silent render -- --stack "$stack" --out "../render/$side/$stack"',
    );
    expect(runs).toContain(
      "cd head && npm run --silent plan-diff -- ../render/base ../render/head --out ../guest-plan.md",
    );
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
    expect(pkg.scripts["plan-diff"]).toBe("ts-node --transpile-only tools/planDiff.ts");
  });

  test("writes the job summary for everyone, and comments in place only for this repository's branches", () => {
    expect(runs).toContain('cat guest-plan.md >> "$GITHUB_STEP_SUMMARY"');
    const comment = job.steps.find((s) => s.name === "Post or update the PR comment")!;
    expect(comment.if).toBe("github.event.pull_request.head.repo.full_name == github.repository");
    expect(comment.env?.GH_TOKEN).toBe("${{ github.token }}");
    expect(comment.run).toContain("marker='<!-- kubeadm-aws guest-plan -->'");
    expect(comment.run).toMatch(/--method PATCH "repos\/\$REPO\/issues\/comments\/\$id"/);
    expect(comment.run).toMatch(/--method POST "repos\/\$REPO\/issues\/\$PR\/comments"/);
    expect(job.permissions).toEqual({ contents: "read", "pull-requests": "write" });
  });

  test("the marker is the differ's own", async () => {
    const { COMMENT_MARKER } = await import("../../tools/planDiff");
    expect(COMMENT_MARKER).toBe("<!-- kubeadm-aws guest-plan -->");
  });
});

describe("the scheduled drift report", () => {
  const drift = load("drift.yml");
  const job = drift.jobs.drift!;

  test("runs daily and on demand, only where the stacks, the role and the backend are configured", () => {
    expect(Object.keys(drift.on).sort()).toEqual(["schedule", "workflow_dispatch"]);
    expect(job.if).toBe(
      "vars.DRIFT_STACKS != '' && vars.AWS_ROLE_ARN != '' && vars.PULUMI_BACKEND_URL != ''",
    );
    expect(job.permissions).toEqual({ "id-token": "write", contents: "read" });
  });

  test("runs the drift command for every stack and fails when any drifted", () => {
    const run = job.steps.map((s) => s.run ?? "").join("\n");
    expect(run).toContain('npm run --silent drift -- --stack "$stack"');
    expect(run).toContain('exit "$failed"');
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
    expect(pkg.scripts.drift).toBe("ts-node --transpile-only tools/deploy.ts drift");
  });
});
