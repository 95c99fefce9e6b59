/**
 * The mock cloud's images (tools/mockImages.ts) answer like EC2 and Systems Manager: only the
 * publishers' accounts have images, a pattern finds what it matches and nothing else, mostRecent
 * takes the newest, and only AWS's public Amazon Linux 2023 parameters exist.
 */
import { mockInvoke } from "../../tools/mockState";
import { MOCK_IMAGES, MOCK_PUBLIC_PARAMETERS } from "../../tools/mockCloud";
import { imageQuery } from "../../config/images";
import { OPERATING_SYSTEMS } from "../../config/clusterConfig";

const ctx = { region: "us-east-1", previousOutputs: {}, liveInstances: new Map() };
const getAmi = (args: Record<string, unknown>) => mockInvoke("aws:ec2/getAmi:getAmi", args, ctx);
const byName = (owner: string, name: string, arch = "x86_64") =>
  getAmi({
    mostRecent: true,
    owners: [owner],
    filters: [
      { name: "name", values: [name] },
      { name: "architecture", values: [arch] },
      { name: "virtualization-type", values: ["hvm"] },
      { name: "root-device-type", values: ["ebs"] },
    ],
  });

const NO_RESULTS =
  "Your query returned no results. Please change your search criteria and try again.";

test("every OS's query finds one image per architecture, each OS and architecture its own", () => {
  const ids = new Set<string>();
  for (const os of OPERATING_SYSTEMS) {
    for (const arch of ["x86_64", "arm64"] as const) {
      const q = imageQuery(os, arch);
      const id =
        q.kind === "name"
          ? byName(q.owner, q.namePattern, arch).id
          : mockInvoke("aws:ssm/getParameter:getParameter", { name: q.parameter }, ctx)
              .insecureValue;
      expect(id).toMatch(/^ami-[0-9a-f]{17}$/);
      ids.add(id);
    }
  }
  // Ubuntu 24.04's are the ids the older tests know.
  expect(
    byName("099720109477", "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-arm64-server-*", "arm64")
      .id,
  ).toBe("ami-0aaaaaaaaaaaaaaa1");
  expect(ids.size).toBe(OPERATING_SYSTEMS.length * 2);
});

test("an account that is no publisher's has no images", () => {
  expect(() => byName("123456789012", "Rocky-9-EC2-Base-9.*.x86_64")).toThrow(NO_RESULTS);
});

test("a publisher's account has only its own images", () => {
  expect(() => byName("099720109477", "Rocky-9-EC2-Base-9.*.x86_64")).toThrow(NO_RESULTS);
  expect(() => byName("792107900819", "Rocky-9-EC2-Base-9.*.x86_64", "arm64")).toThrow(NO_RESULTS);
});

test("mostRecent takes the newest match; without it, more than one match is an error", () => {
  // The LVM variant is newer: a pattern as broad as this one would take it.
  expect(byName("792107900819", "Rocky-9-EC2-*.x86_64").name).toMatch(/^Rocky-9-EC2-LVM-/);
  expect(() =>
    getAmi({ owners: ["792107900819"], filters: [{ name: "name", values: ["Rocky-9-*"] }] }),
  ).toThrow("more than one result");
});

test("a lookup by image id answers with that image's architecture", () => {
  const arm = MOCK_IMAGES.find((i) => i.architecture === "arm64")!;
  expect(
    getAmi({ filters: [{ name: "image-id", values: [arm.id] }], mostRecent: true }),
  ).toMatchObject({
    id: arm.id,
    architecture: "arm64",
  });
});

test("Systems Manager has AWS's two Amazon Linux 2023 parameters, as Strings, and nothing else", () => {
  for (const [name, value] of Object.entries(MOCK_PUBLIC_PARAMETERS)) {
    expect(mockInvoke("aws:ssm/getParameter:getParameter", { name }, ctx)).toMatchObject({
      name,
      type: "String",
      value,
      insecureValue: value,
    });
  }
  expect(Object.keys(MOCK_PUBLIC_PARAMETERS)).toHaveLength(2);
  expect(() =>
    mockInvoke(
      "aws:ssm/getParameter:getParameter",
      { name: "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-i386" },
      ctx,
    ),
  ).toThrow("ParameterNotFound");
});
