/**
 * The machine image of an OS and architecture, looked up once per pair: the publisher's newest
 * image by name pattern, or the image id a public Systems Manager parameter holds (Amazon Linux
 * 2023); config/images.ts has the owners, patterns and parameters. Shared by the nodes and the
 * bastion.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { OperatingSystem } from "../config/clusterConfig";
import { Ec2Architecture, ImageQuery, imageQuery } from "../config/images";

export class MachineImages {
  private readonly found = new Map<string, pulumi.Output<string>>();

  constructor(private readonly parent: pulumi.Resource) {}

  /** The image id for `os` on `arch`, or `amiId` when one is given. */
  imageFor(os: OperatingSystem, arch: Ec2Architecture, amiId?: string): pulumi.Output<string> {
    if (amiId) return pulumi.output(amiId);
    const key = `${os}/${arch}`;
    if (!this.found.has(key)) this.found.set(key, this.lookUp(imageQuery(os, arch), arch));
    return this.found.get(key)!;
  }

  private lookUp(q: ImageQuery, arch: Ec2Architecture): pulumi.Output<string> {
    const opts = { parent: this.parent };
    if (q.kind === "ssm") {
      // insecureValue: an image id is no secret, and `value` would make every instance's
      // inputs secret (the provider always marks it so).
      return aws.ssm
        .getParameterOutput({ name: q.parameter }, opts)
        .apply((parameter) => parameter.insecureValue);
    }
    return aws.ec2
      .getAmiOutput(
        {
          mostRecent: true,
          owners: [q.owner],
          filters: [
            { name: "name", values: [q.namePattern] },
            { name: "architecture", values: [arch] },
            { name: "virtualization-type", values: ["hvm"] },
            { name: "root-device-type", values: ["ebs"] },
          ],
        },
        opts,
      )
      .apply((ami) => ami.id);
  }
}
