import * as path from "path";
import { parse } from "yaml";
import { ciStackDecision, parseCidrList } from "../../tools/ciStack";
import { stackConfigMap } from "../../tools/stackFiles";

const ROOT = path.join(__dirname, "..", "..");

describe("whether CI may run a stack", () => {
  test("dev uses my-ip, so without CI_INGRESS_CIDRS it is skipped, saying why", () => {
    const d = ciStackDecision("dev", stackConfigMap(ROOT, "dev"), []);
    expect(d.skip).toBe(true);
    expect(d.reason).toBe(
      "Skipped stack dev: its sshIngressCidrs use `my-ip`, which on a CI runner is the runner's own address, " +
        "so a deploy would replace the operator's address in the security groups. Set the repository variable " +
        "CI_INGRESS_CIDRS (e.g. `198.51.100.0/24`) to run it with those CIDRs.",
    );
  });

  test("with CI_INGRESS_CIDRS, my-ip is replaced for the run through pulumi/actions' config-map", () => {
    const d = ciStackDecision(
      "dev",
      { "kubeadm-aws:sshIngressCidrs": '["my-ip","10.9.0.0/16"]' },
      parseCidrList("100.64.0.0/24, 100.64.1.0/24"),
    );
    expect(d.skip).toBe(false);
    expect(parse(d.configMap)).toEqual({
      "kubeadm-aws:sshIngressCidrs": {
        value: '["100.64.0.0/24","100.64.1.0/24","10.9.0.0/16"]',
        secret: false,
      },
    });
  });

  test("prod lists explicit CIDRs and runs as committed", () => {
    expect(ciStackDecision("prod", stackConfigMap(ROOT, "prod"), [])).toEqual({
      skip: false,
      reason: "Stack prod lists explicit CIDRs; CI uses them as committed.",
      configMap: "",
    });
  });
});
