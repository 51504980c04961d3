/** One resource of a CloudFormation template. */
export interface CfnResource {
  readonly Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: string | string[];
  [attribute: string]: unknown;
}

/** The compiled CloudFormation template (`provider.compiledCloudFormationTemplate`). */
export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
  [section: string]: unknown;
}

/** The parts of the AWS provider's `naming` the plugin uses (Serverless v3 `lib/plugins/aws/lib/naming.js`). */
export interface AwsNaming {
  /** `ledger` → `Ledger`: the prefix of every logical id of a function. */
  getNormalizedFunctionName(functionKey: string): string;
  /** `ledger` → `LedgerLambdaFunction`. */
  getLambdaLogicalId(functionKey: string): string;
  /** The shared provider role, `IamRoleLambdaExecution`. */
  getRoleLogicalId(): string;
}
