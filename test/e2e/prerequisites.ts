/** What the end-to-end test needs from the machine it runs on, checked before it decides to run. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/**
 * Where the AWS SDK would find credentials, as the provider resolves them: the environment, a
 * named profile, web identity (CI), a container role, or `aws configure`'s default profile in
 * ~/.aws/credentials or ~/.aws/config. Undefined when there are none.
 */
export function awsCredentialsSource(
  env: NodeJS.ProcessEnv,
  home: string = os.homedir(),
): string | undefined {
  if (env.AWS_ACCESS_KEY_ID) return "AWS_ACCESS_KEY_ID";
  if (env.AWS_PROFILE) return `profile ${env.AWS_PROFILE}`;
  if (env.AWS_WEB_IDENTITY_TOKEN_FILE) return "web identity";
  if (env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI || env.AWS_CONTAINER_CREDENTIALS_FULL_URI) {
    return "container credentials";
  }
  const files = [
    [env.AWS_SHARED_CREDENTIALS_FILE ?? path.join(home, ".aws", "credentials"), /^\[default\]/m],
    [env.AWS_CONFIG_FILE ?? path.join(home, ".aws", "config"), /^\[(profile )?default\]/m],
  ] as const;
  for (const [file, section] of files) {
    if (fs.existsSync(file) && section.test(fs.readFileSync(file, "utf8"))) {
      return `the default profile in ${file}`;
    }
  }
  return undefined;
}
