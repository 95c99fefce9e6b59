/** The mock cloud lives with the tools that also evaluate the program without AWS. */
export * from "../tools/mockCloud";
