/**
 * The image of every OS on both architectures (config/images.ts): the publisher's account and
 * name pattern, or AWS's public parameter for Amazon Linux 2023, and the login of its images.
 * Each pattern is also matched against the names the publishers really give their images, and
 * must leave out their neighbours (another release, another variant, the other architecture).
 */
import { OPERATING_SYSTEMS, OperatingSystem } from "../../config/clusterConfig";
import { imageQuery, sshUserFor } from "../../config/images";

const CASES: [OperatingSystem, "x86_64" | "arm64", object][] = [
  [
    "ubuntu-24.04",
    "x86_64",
    {
      kind: "name",
      owner: "099720109477",
      namePattern: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*",
      sshUser: "ubuntu",
    },
  ],
  [
    "ubuntu-24.04",
    "arm64",
    {
      kind: "name",
      owner: "099720109477",
      namePattern: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-arm64-server-*",
      sshUser: "ubuntu",
    },
  ],
  [
    "ubuntu-22.04",
    "x86_64",
    {
      kind: "name",
      owner: "099720109477",
      namePattern: "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*",
      sshUser: "ubuntu",
    },
  ],
  [
    "ubuntu-22.04",
    "arm64",
    {
      kind: "name",
      owner: "099720109477",
      namePattern: "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-arm64-server-*",
      sshUser: "ubuntu",
    },
  ],
  [
    "debian-12",
    "x86_64",
    { kind: "name", owner: "136693071363", namePattern: "debian-12-amd64-*", sshUser: "admin" },
  ],
  [
    "debian-12",
    "arm64",
    { kind: "name", owner: "136693071363", namePattern: "debian-12-arm64-*", sshUser: "admin" },
  ],
  [
    "rocky-9",
    "x86_64",
    {
      kind: "name",
      owner: "792107900819",
      namePattern: "Rocky-9-EC2-Base-9.*.x86_64",
      sshUser: "rocky",
    },
  ],
  [
    "rocky-9",
    "arm64",
    {
      kind: "name",
      owner: "792107900819",
      namePattern: "Rocky-9-EC2-Base-9.*.aarch64",
      sshUser: "rocky",
    },
  ],
  [
    "almalinux-9",
    "x86_64",
    {
      kind: "name",
      owner: "764336703387",
      namePattern: "AlmaLinux OS 9.* x86_64",
      sshUser: "ec2-user",
    },
  ],
  [
    "almalinux-9",
    "arm64",
    {
      kind: "name",
      owner: "764336703387",
      namePattern: "AlmaLinux OS 9.* aarch64",
      sshUser: "ec2-user",
    },
  ],
  [
    "oracle-linux-9",
    "x86_64",
    {
      kind: "name",
      owner: "131827586825",
      namePattern: "OL9.*-x86_64-HVM-*",
      sshUser: "ec2-user",
    },
  ],
  [
    "oracle-linux-9",
    "arm64",
    {
      kind: "name",
      owner: "131827586825",
      namePattern: "OL9.*-aarch64-HVM-*",
      sshUser: "ec2-user",
    },
  ],
  [
    "amazon-linux-2023",
    "x86_64",
    {
      kind: "ssm",
      parameter: "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
      sshUser: "ec2-user",
    },
  ],
  [
    "amazon-linux-2023",
    "arm64",
    {
      kind: "ssm",
      parameter: "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64",
      sshUser: "ec2-user",
    },
  ],
];

test("every OS and architecture has a case here", () => {
  expect(CASES.map(([os, arch]) => `${os} ${arch}`).sort()).toEqual(
    OPERATING_SYSTEMS.flatMap((os) => [`${os} arm64`, `${os} x86_64`]).sort(),
  );
});

test.each(CASES)("%s on %s", (os, arch, query) => {
  expect(imageQuery(os, arch)).toEqual(query);
});

test.each([
  ["ubuntu-24.04", "ubuntu"],
  ["ubuntu-22.04", "ubuntu"],
  ["debian-12", "admin"],
  ["rocky-9", "rocky"],
  ["almalinux-9", "ec2-user"],
  ["amazon-linux-2023", "ec2-user"],
  ["oracle-linux-9", "ec2-user"],
] as const)("%s logs in as %s, the same on both architectures", (os, user) => {
  expect(sshUserFor(os)).toBe(user);
  expect(imageQuery(os, "arm64").sshUser).toBe(user);
});

/** EC2's wildcard match of a name filter. */
const matches = (pattern: string, name: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
  ).test(name);

test.each([
  [
    "rocky-9",
    "x86_64",
    "Rocky-9-EC2-Base-9.5-20241118.0.x86_64",
    [
      "Rocky-9-EC2-LVM-9.5-20241118.0.x86_64",
      "Rocky-8-EC2-Base-8.10-20240528.0.x86_64",
      "Rocky-9-EC2-Base-9.5-20241118.0.aarch64",
    ],
  ],
  [
    "rocky-9",
    "arm64",
    "Rocky-9-EC2-Base-9.5-20241118.0.aarch64",
    ["Rocky-9-EC2-Base-9.5-20241118.0.x86_64"],
  ],
  [
    "almalinux-9",
    "x86_64",
    "AlmaLinux OS 9.5.20241120 x86_64",
    [
      "AlmaLinux OS 8.10.20240530 x86_64",
      "AlmaLinux OS 10.0.20250528 x86_64",
      "AlmaLinux OS 9.5.20241120 aarch64",
    ],
  ],
  [
    "almalinux-9",
    "arm64",
    "AlmaLinux OS 9.5.20241120 aarch64",
    ["AlmaLinux OS 9.5.20241120 x86_64"],
  ],
  [
    "oracle-linux-9",
    "x86_64",
    "OL9.5-x86_64-HVM-2024-11-25",
    ["OL8.10-x86_64-HVM-2024-11-25", "OL9.5-aarch64-HVM-2024-11-25"],
  ],
  ["oracle-linux-9", "arm64", "OL9.5-aarch64-HVM-2024-11-25", ["OL9.5-x86_64-HVM-2024-11-25"]],
] as const)("the %s %s pattern matches %s and none of its neighbours", (os, arch, name, others) => {
  const q = imageQuery(os, arch);
  if (q.kind !== "name") throw new Error(`${os} is found by name`);
  expect(matches(q.namePattern, name)).toBe(true);
  for (const other of others)
    expect({ other, matches: matches(q.namePattern, other) }).toEqual({ other, matches: false });
});
