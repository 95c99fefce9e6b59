import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { awsCredentialsSource } from "../e2e/prerequisites";

describe("the e2e test finds AWS credentials where the provider would", () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "kubeadm-aws-home-"));
  afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

  test("none anywhere: it skips", () => {
    expect(awsCredentialsSource({}, home)).toBeUndefined();
  });

  test("from the environment, a profile or web identity", () => {
    expect(awsCredentialsSource({ AWS_ACCESS_KEY_ID: "AKIA" }, home)).toBe("AWS_ACCESS_KEY_ID");
    expect(awsCredentialsSource({ AWS_PROFILE: "ops" }, home)).toBe("profile ops");
    expect(awsCredentialsSource({ AWS_WEB_IDENTITY_TOKEN_FILE: "/t" }, home)).toBe("web identity");
  });

  test("from `aws configure`'s default profile, in the credentials or the config file", () => {
    fs.mkdirSync(path.join(home, ".aws"));
    fs.writeFileSync(path.join(home, ".aws", "config"), "[profile other]\nregion = eu-west-1\n");
    expect(awsCredentialsSource({}, home)).toBeUndefined();
    fs.writeFileSync(
      path.join(home, ".aws", "credentials"),
      "[default]\naws_access_key_id = AKIA\n",
    );
    expect(awsCredentialsSource({}, home)).toBe(
      `the default profile in ${path.join(home, ".aws", "credentials")}`,
    );
  });
});
