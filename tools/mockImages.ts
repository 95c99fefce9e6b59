/**
 * The machine images the mock cloud knows, and its answers to the two ways the program finds one:
 * EC2 DescribeImages by owner and filters (`aws:ec2/getAmi:getAmi`), and a public Systems Manager
 * parameter (`aws:ssm/getParameter:getParameter`). The facts are written here independently of
 * config/images.ts, so a wrong owner, name pattern or parameter there finds nothing, as in EC2.
 *
 * Modelled facts:
 * - Each publisher's account (Canonical 099720109477, Debian 136693071363, the Rocky Enterprise
 *   Software Foundation 792107900819, the AlmaLinux OS Foundation 764336703387, Oracle
 *   131827586825) holds images named as the real ones are, one per architecture and release,
 *   with a distinct id per OS and architecture.
 * - Each RHEL-family publisher also has a newer image a pattern must leave out (an LVM variant,
 *   the previous major release), so a pattern that is too broad picks the wrong one.
 * - EC2 wildcards in filter values: `*` any characters, `?` one. `mostRecent` takes the newest
 *   creation date; without it, more than one match is an error (the provider's).
 * - AWS keeps `/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{x86_64,arm64}`
 *   (String parameters) pointing at the newest Amazon Linux 2023 image of the region.
 * - The Ubuntu 24.04 ids are the ones tests used before the RHEL family came (ami-0aaaaaaaaaaaaaaa1
 *   arm64, ami-0bbbbbbbbbbbbbbb2 x86_64).
 */

export interface MockImage {
  readonly id: string;
  readonly owner: string;
  readonly name: string;
  readonly architecture: "x86_64" | "arm64";
  readonly creationDate: string;
}

const image = (
  id: string,
  owner: string,
  name: string,
  architecture: MockImage["architecture"],
  creationDate = "2026-11-20T00:00:00.000Z",
): MockImage => ({ id, owner, name, architecture, creationDate });

const CANONICAL = "099720109477";
const DEBIAN = "136693071363";
const ROCKY = "792107900819";
const ALMA = "764336703387";
const ORACLE = "131827586825";
const AMAZON = "137112412989";
const NEWER = "2026-12-01T00:00:00.000Z";

export const MOCK_IMAGES: readonly MockImage[] = [
  image(
    "ami-0bbbbbbbbbbbbbbb2",
    CANONICAL,
    "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20261118",
    "x86_64",
  ),
  image(
    "ami-0aaaaaaaaaaaaaaa1",
    CANONICAL,
    "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-arm64-server-20261118",
    "arm64",
  ),
  image(
    "ami-022040000000000b2",
    CANONICAL,
    "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20261118",
    "x86_64",
  ),
  image(
    "ami-022040000000000a1",
    CANONICAL,
    "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-arm64-server-20261118",
    "arm64",
  ),
  image("ami-0de120000000000b2", DEBIAN, "debian-12-amd64-20261118-1900", "x86_64"),
  image("ami-0de120000000000a1", DEBIAN, "debian-12-arm64-20261118-1900", "arm64"),
  image("ami-0c0090000000000b2", ROCKY, "Rocky-9-EC2-Base-9.7-20261115.0.x86_64", "x86_64"),
  image("ami-0c0090000000000a1", ROCKY, "Rocky-9-EC2-Base-9.7-20261115.0.aarch64", "arm64"),
  image("ami-0c0f90000000000b2", ROCKY, "Rocky-9-EC2-LVM-9.7-20261115.0.x86_64", "x86_64", NEWER),
  image("ami-0c0f90000000000a1", ROCKY, "Rocky-9-EC2-LVM-9.7-20261115.0.aarch64", "arm64", NEWER),
  image("ami-0a1090000000000b2", ALMA, "AlmaLinux OS 9.7.20261112 x86_64", "x86_64"),
  image("ami-0a1090000000000a1", ALMA, "AlmaLinux OS 9.7.20261112 aarch64", "arm64"),
  image("ami-0a1100000000000b2", ALMA, "AlmaLinux OS 10.1.20261112 x86_64", "x86_64", NEWER),
  image("ami-0a1100000000000a1", ALMA, "AlmaLinux OS 10.1.20261112 aarch64", "arm64", NEWER),
  image("ami-001090000000000b2", ORACLE, "OL9.7-x86_64-HVM-2026-11-10", "x86_64"),
  image("ami-001090000000000a1", ORACLE, "OL9.7-aarch64-HVM-2026-11-10", "arm64"),
  image("ami-001100000000000b2", ORACLE, "OL10.1-x86_64-HVM-2026-11-10", "x86_64", NEWER),
  image(
    "ami-020230000000000b2",
    AMAZON,
    "al2023-ami-2023.9.20261117.0-kernel-6.1-x86_64",
    "x86_64",
  ),
  image("ami-020230000000000a1", AMAZON, "al2023-ami-2023.9.20261117.0-kernel-6.1-arm64", "arm64"),
];

/** The public parameters AWS keeps for Amazon Linux 2023, by name: the image id they hold. */
export const MOCK_PUBLIC_PARAMETERS: Readonly<Record<string, string>> = {
  "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64": MOCK_IMAGES.find(
    (i) => i.owner === AMAZON && i.architecture === "x86_64",
  )!.id,
  "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64": MOCK_IMAGES.find(
    (i) => i.owner === AMAZON && i.architecture === "arm64",
  )!.id,
};

/** An EC2 filter value as a regular expression: `*` any characters, `?` one, the rest literal. */
function wildcard(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${body}$`);
}

type Filter = { name: string; values: string[] };

/** What each DescribeImages filter the program uses reads of an image. */
const FILTERED: Record<string, (i: MockImage) => string> = {
  "image-id": (i) => i.id,
  name: (i) => i.name,
  architecture: (i) => i.architecture,
  "virtualization-type": () => "hvm",
  "root-device-type": () => "ebs",
};

/**
 * `aws:ec2/getAmi:getAmi`. A lookup by image id alone answers for any id (tests name images the
 * catalogue does not hold: they are x86_64 unless listed); a lookup by owner and name answers only
 * from the catalogue, and finds nothing as EC2 finds nothing.
 */
export function getAmi(args: Record<string, any>): Record<string, unknown> {
  const filters = (args.filters ?? []) as Filter[];
  const owners = (args.owners ?? []) as string[];
  const byId = filters.find((f) => f.name === "image-id")?.values[0];
  if (byId && filters.length === 1 && owners.length === 0) {
    const known = MOCK_IMAGES.find((i) => i.id === byId);
    return { id: byId, imageId: byId, architecture: known?.architecture ?? "x86_64" };
  }
  const matches = MOCK_IMAGES.filter(
    (i) =>
      (owners.length === 0 || owners.includes(i.owner)) &&
      filters.every((f) => {
        const read = FILTERED[f.name];
        if (!read) throw new Error(`mock cloud: getAmi filter ${f.name} is not modelled`);
        return f.values.some((v) => wildcard(v).test(read(i)));
      }),
  ).sort((a, b) => b.creationDate.localeCompare(a.creationDate));
  if (matches.length === 0) {
    throw new Error(
      "Your query returned no results. Please change your search criteria and try again.",
    );
  }
  if (matches.length > 1 && !args.mostRecent) {
    throw new Error(
      "Your query returned more than one result. Please try a more specific search criteria, or set `most_recent` attribute to true.",
    );
  }
  const found = matches[0]!;
  return {
    id: found.id,
    imageId: found.id,
    name: found.name,
    ownerId: found.owner,
    architecture: found.architecture,
    creationDate: found.creationDate,
    virtualizationType: "hvm",
    rootDeviceType: "ebs",
  };
}

/** `aws:ssm/getParameter:getParameter` for the public parameters the mock knows. */
export function getParameter(args: Record<string, any>, region: string): Record<string, unknown> {
  const name = String(args.name);
  const value = MOCK_PUBLIC_PARAMETERS[name];
  if (value === undefined) {
    throw new Error(`ParameterNotFound: error reading SSM Parameter (${name})`);
  }
  return {
    id: name,
    name,
    arn: `arn:aws:ssm:${region}::parameter${name}`,
    type: "String",
    value,
    insecureValue: value,
    version: 1,
    withDecryption: args.withDecryption ?? true,
  };
}
