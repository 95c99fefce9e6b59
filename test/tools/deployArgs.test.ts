/**
 * The deploy wrapper's command line: what each command accepts, and for every mistake a message
 * that names it and shows the right form (npm only passes on what follows a lone `--`).
 */
import { COMMANDS, parseDeployArgs, UsageError, type ParsedArgs } from "../../tools/deployArgs";
import { usage } from "../../tools/deployUsage";

const parse = (argv: string[], env: Record<string, string> = {}): ParsedArgs =>
  parseDeployArgs(argv, { env, stacks: ["dev", "prod"] });

/** The UsageError message a command line gives (fails the test if it parses). */
function error(argv: string[], env: Record<string, string> = {}): string {
  try {
    parse(argv, env);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error(`${argv.join(" ")} parsed without an error`);
}

describe("each command with its flags", () => {
  test.each(COMMANDS)("%s --stack prod selects prod", (command) => {
    expect(parse([command, "--stack", "prod"])).toMatchObject({
      help: false,
      command,
      stack: "prod",
    });
  });

  test("--stack=NAME and -s NAME are the same as --stack NAME", () => {
    expect(parse(["up", "--stack=prod"])).toMatchObject({ stack: "prod" });
    expect(parse(["up", "-s", "prod"])).toMatchObject({ stack: "prod" });
  });

  test("up takes no other flag and never confirms", () => {
    expect(parse(["up", "--stack", "dev"])).toEqual({
      help: false,
      command: "up",
      stack: "dev",
      yes: false,
    });
  });

  test("preview and outputs default to dev", () => {
    expect(parse(["preview"])).toMatchObject({ command: "preview", stack: "dev" });
    expect(parse(["outputs"])).toMatchObject({ command: "outputs", stack: "dev" });
  });

  test("destroy takes --yes (or -y); without it, it is false", () => {
    expect(parse(["destroy", "--stack", "dev"])).toMatchObject({ yes: false });
    expect(parse(["destroy", "--stack", "dev", "--yes"])).toMatchObject({ yes: true });
    expect(parse(["destroy", "-y", "--stack", "dev"])).toMatchObject({ yes: true });
  });

  test("outputs writes ./kubeconfig unless --kubeconfig says where", () => {
    expect(parse(["outputs", "--stack", "prod"])).toMatchObject({ kubeconfig: "kubeconfig" });
    expect(parse(["outputs", "--kubeconfig", "/tmp/k", "--stack", "prod"])).toMatchObject({
      stack: "prod",
      kubeconfig: "/tmp/k",
    });
  });

  test("qualified stack names pass (org/stack, org/project/stack)", () => {
    expect(parse(["up", "--stack", "acme/kubeadm-aws/prod"])).toMatchObject({
      stack: "acme/kubeadm-aws/prod",
    });
  });
});

describe("--stack is required where a mistake is costly", () => {
  test.each(["up", "destroy"])("%s without --stack is refused, naming the stacks", (command) => {
    const message = error([command]);
    expect(message).toContain(`--stack is required for ${command}`);
    expect(message).toContain("Stacks here: dev, prod.");
    expect(message).toContain(`npm run ${command} -- --stack dev`);
  });
});

describe("mistakes, each with the right form", () => {
  test("a stray word (npm run up prod) shows npm run up -- --stack prod", () => {
    const message = error(["up", "prod"]);
    expect(message).toContain('unexpected word "prod"');
    expect(message).toContain("\n  npm run up -- --stack prod\n");
  });

  test("a stray word beside --stack is refused too", () => {
    expect(error(["up", "--stack", "dev", "extra"])).toContain('unexpected word "extra"');
  });

  test("npm run up --stack prod: npm took --stack (npm_config_stack), the word is left", () => {
    const message = error(["up", "prod"], { npm_config_stack: "true" });
    expect(message).toContain("npm took --stack for itself");
    expect(message).toContain("npm run up -- --stack prod");
  });

  test("npm run outputs --kubeconfig x: npm took --kubeconfig, the word is its value", () => {
    const message = error(["outputs", "x"], { npm_config_kubeconfig: "true" });
    expect(message).toContain("npm took --kubeconfig for itself");
    expect(message).toContain("\n  npm run outputs -- --kubeconfig x\n");
  });

  test("npm run outputs --stack prod --kubeconfig x: both flags named, with placeholders", () => {
    const env = { npm_config_stack: "true", npm_config_kubeconfig: "true" };
    const message = error(["outputs", "prod", "x"], env);
    expect(message).toContain("npm took --stack and --kubeconfig for itself");
    expect(message).toContain("npm run outputs -- --stack NAME --kubeconfig FILE");
  });

  test("npm run up --stack (no value): npm took it, the right form has a placeholder", () => {
    expect(error(["up"], { npm_config_stack: "true" })).toContain("npm run up -- --stack NAME");
  });

  test("an empty npm_config_yes (npm always sets it) is no mistake", () => {
    expect(parse(["preview"], { npm_config_yes: "" })).toMatchObject({ stack: "dev" });
  });

  test("an unknown flag is named, with the command's usage", () => {
    const message = error(["up", "--stak", "dev"]);
    expect(message).toContain("unknown flag --stak");
    expect(message).toContain("npm run up -- --stack NAME");
  });

  test.each([
    [["up", "--stack"], "--stack needs a value"],
    [["up", "--stack", "--yes"], "--stack needs a value"],
    [["up", "--stack="], "--stack needs a value"],
    [["outputs", "--kubeconfig"], "--kubeconfig needs a value"],
  ])("a flag without its value: %j", (argv, expected) => {
    expect(error(argv)).toContain(expected);
  });

  test("--yes belongs to destroy and etcd-restore only: up applies without asking", () => {
    const message = error(["up", "--stack", "dev", "--yes"]);
    expect(message).toContain("--yes is for destroy and etcd-restore only");
    expect(message).toContain("up applies without asking");
    expect(error(["preview", "--yes"])).toContain("--yes is for destroy and etcd-restore only");
  });

  test("--kubeconfig belongs to outputs only", () => {
    expect(error(["up", "--stack", "dev", "--kubeconfig", "k"])).toContain(
      "--kubeconfig is for outputs only",
    );
  });

  test("a flag given twice, a value given to --yes", () => {
    expect(error(["up", "--stack", "dev", "--stack", "prod"])).toContain("--stack is given twice");
    expect(error(["destroy", "--stack", "dev", "--yes=no"])).toContain("--yes takes no value");
  });

  test("a stack name with a space or a shell character is refused", () => {
    expect(error(["up", "--stack", "my stack"])).toContain('"my stack" is not a stack name');
    expect(error(["up", "--stack", "dev;rm"])).toContain("is not a stack name");
  });

  test("a missing or unknown command lists the commands", () => {
    expect(error([])).toContain("no command: use one of up, preview, destroy, outputs");
    expect(error(["deploy"])).toContain('unknown command "deploy"');
  });

  test("every message ends with where the help is", () => {
    expect(error(["up"])).toMatch(/\(npm run up -- --help for more\)$/);
  });
});

describe("--help", () => {
  test("anywhere on the line, it wins over the other words", () => {
    expect(parse(["up", "--help"])).toEqual({ help: true, command: "up" });
    expect(parse(["destroy", "prod", "-h"])).toEqual({ help: true, command: "destroy" });
    expect(parse(["nonsense", "--help"])).toEqual({ help: true });
  });

  test("the full help lists every command with its right form and says which default to dev", () => {
    const text = usage();
    for (const command of COMMANDS) expect(text).toContain(`npm run ${command} -- `);
    expect(text).toContain("required for up and destroy");
    expect(text).toMatch(/dev by default for preview and outputs/);
    expect(text).toContain("PULUMI_CONFIG_PASSPHRASE");
    expect(text).toContain(".pulumi-cli/");
  });

  test("a command's help shows its own flags only", () => {
    expect(usage("destroy")).toContain("--yes");
    expect(usage("destroy")).not.toContain("--kubeconfig");
    expect(usage("outputs")).toContain("--kubeconfig FILE");
    expect(usage("up")).not.toContain("--yes");
  });
});

describe("the etcd tools", () => {
  test("etcd-restore takes a snapshot key and --yes; etcd-snapshot needs only the stack", () => {
    expect(
      parse(["etcd-restore", "--stack", "prod", "--snapshot", "k8s-prod/etcd/x.db", "--yes"]),
    ).toEqual({
      help: false,
      command: "etcd-restore",
      stack: "prod",
      yes: true,
      snapshot: "k8s-prod/etcd/x.db",
    });
    expect(parse(["etcd-snapshot", "--stack", "dev"])).toEqual({
      help: false,
      command: "etcd-snapshot",
      stack: "dev",
      yes: false,
    });
  });

  test("--snapshot belongs to etcd-restore, and neither runs without a stack", () => {
    expect(() => parse(["up", "--stack", "dev", "--snapshot", "x"])).toThrow(
      "--snapshot is for etcd-restore only",
    );
    expect(() => parse(["etcd-restore"])).toThrow("--stack is required for etcd-restore");
  });
});
