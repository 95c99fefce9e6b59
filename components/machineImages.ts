/**
 * The machine image of an OS and architecture, looked up once per pair: the publisher's newest
 * image by name pattern (config/images.ts has the owners and patterns). Shared by the nodes and
 * the bastion.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { OperatingSystem } from "../config/clusterConfig";
import { Ec2Architecture, imageQuery } from "../config/images";

export class MachineImages {
  private readonly found = new Map<string, pulumi.Output<string>>();

  constructor(private readonly parent: pulumi.Resource) {}

  /** The image id for `os` on `arch`, or `amiId` when one is given. */
  imageFor(os: OperatingSystem, arch: Ec2Architecture, amiId?: string): pulumi.Output<string> {
    if (amiId) return pulumi.output(amiId);
    const key = `${os}/${arch}`;
    if (!this.found.has(key)) {
      const q = imageQuery(os, arch);
      this.found.set(
        key,
        aws.ec2
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
            { parent: this.parent },
          )
          .apply((ami) => ami.id),
      );
    }
    return this.found.get(key)!;
  }
}
