import { NhiError } from '@nhi-dns/core';
import { type CompileReport, compileNhi } from './compile.js';
import { type ResolvedConfig, resolveConfig } from './config.js';
import { PLUGIN_NAME } from './errors.js';
import { CUSTOM_SCHEMA, FUNCTION_SCHEMA } from './schema.js';
import type { AwsNaming, CfnTemplate } from './template.js';

/** A function of serverless.yml, as far as the plugin reads and writes it. */
export interface ServerlessFunction {
  nhi?: unknown;
  environment?: Record<string, unknown>;
  [setting: string]: unknown;
}

/**
 * The parts of a Serverless Framework v3 instance the plugin uses (structural, so the plugin's
 * declarations need no `serverless` types).
 */
export interface ServerlessInstance {
  readonly service: {
    readonly service?: string;
    readonly custom?: Record<string, unknown>;
    readonly provider: {
      readonly name?: string;
      readonly stage?: string;
      readonly environment?: Record<string, unknown>;
      readonly compiledCloudFormationTemplate: CfnTemplate;
    };
    /** The functions of serverless.yml, where the plugin adds the rotation functions. */
    readonly functions?: Record<string, ServerlessFunction>;
    getAllFunctions(): string[];
    getFunction(key: string): ServerlessFunction;
  };
  /** Directory of serverless.yml (v3). */
  readonly serviceDir?: string;
  readonly config?: { readonly servicePath?: string };
  getProvider(name: 'aws'): { readonly naming: AwsNaming; getStage?(): string };
  readonly classes: { readonly Error: new (message: string, code?: string) => Error };
  readonly configSchemaHandler?: {
    defineCustomProperties(schema: object): void;
    defineFunctionProperties(provider: string, schema: object): void;
  };
}

/** The logger v3 passes as the third constructor argument. */
export interface PluginLogger {
  notice?(message: string): void;
  warning?(message: string): void;
  verbose?(message: string): void;
}

/** Code of the `ServerlessError` a configuration error is reported as. */
export const ERROR_CODE = 'NHI_INVALID_CONFIG';

/**
 * Serverless Framework v3 plugin: for every function with `nhi` settings, the `NHI_*`
 * environment, least-privilege grants on its secrets and signing key (on a role of its own),
 * its alarms, and with `recordOwner: 'stack'` its identity record.
 *
 * Hooks: `initialize` checks the settings (every command, so a bad setting fails before any
 * work) and sets the environment on the functions themselves, where `serverless deploy function`
 * and `serverless-offline` read it too; `before:package:finalize` adds the resources, once
 * Serverless compiled the functions, their events and the provider role.
 */
export class ServerlessNhiDns {
  readonly hooks: Record<string, () => void | Promise<void>>;
  /** The checked settings, once `initialize` ran; `undefined` when the service does not use the plugin. */
  config?: ResolvedConfig;
  /** What the last packaging added. */
  report?: CompileReport;
  readonly #serverless: ServerlessInstance;
  readonly #log: PluginLogger;

  constructor(serverless: ServerlessInstance, _options?: unknown, utils?: { log?: PluginLogger }) {
    this.#serverless = serverless;
    this.#log = utils?.log ?? {};
    if (serverless.service.provider.name === undefined || serverless.service.provider.name === 'aws') {
      serverless.configSchemaHandler?.defineCustomProperties(CUSTOM_SCHEMA);
      serverless.configSchemaHandler?.defineFunctionProperties('aws', FUNCTION_SCHEMA);
    }
    this.hooks = {
      initialize: () => this.initialize(),
      'before:package:finalize': () => this.package(),
    };
  }

  /** Checks the settings and sets each protected function's environment. */
  initialize(): void {
    this.config = this.#guard(() => this.#resolve());
    if (this.config === undefined) return;
    for (const fn of this.config.functions) {
      const target = this.#serverless.service.getFunction(fn.key);
      target.environment = { ...target.environment, ...fn.environment };
    }
    this.#addRotationFunctions(this.config);
  }

  /**
   * Adds each identity's rotation function to the service's functions, so that Serverless packages,
   * names and compiles it as any other (log group included); `package` gives it its own role. Named
   * as Serverless names functions, `<service>-<stage>-<key>`, since its names were set already.
   */
  #addRotationFunctions(config: ResolvedConfig): void {
    if (config.rotations.length === 0) return;
    const { service } = this.#serverless;
    const functions = service.functions;
    if (functions === undefined) throw new Error(`${PLUGIN_NAME}: the service has no functions object`);
    const stage = this.#serverless.getProvider('aws').getStage?.() ?? service.provider.stage;
    for (const rotation of config.rotations) {
      if (functions[rotation.functionKey] !== undefined) continue;
      functions[rotation.functionKey] = {
        name: `${service.service}-${stage}-${rotation.functionKey}`,
        handler: rotation.handler,
        description: `nhi-dns: rotates the signing key of ${rotation.name} (@nhi-dns/rotation)`,
        // Lambda's longest: a step waits for INSYNC and the resolvers' caches (the TTL + 5 s).
        timeout: 900,
        memorySize: 256,
        environment: { ...rotation.environment },
        events: [],
      };
    }
  }

  /** Adds the records, roles and alarms to the compiled template. */
  package(): void {
    if (this.config === undefined) this.initialize();
    const config = this.config;
    if (config === undefined) return;
    const { naming } = this.#serverless.getProvider('aws');
    const report = this.#guard(() =>
      compileNhi(this.#serverless.service.provider.compiledCloudFormationTemplate, config, naming),
    );
    this.report = report;
    for (const warning of report.warnings) this.#log.warning?.(`${PLUGIN_NAME}: ${warning}`);
    this.#log.verbose?.(
      `${PLUGIN_NAME}: ${report.records.length} identity record(s)` +
        (config.recordOwner === 'cli' ? ' (recordOwner cli: nhi-dns keygen/publish own them)' : '') +
        `, ${Object.keys(report.roles).length} function role(s), ${report.alarms.length} alarm(s)` +
        `, ${Object.keys(report.rotations).length} key rotation(s)` +
        (report.dashboard === undefined ? '' : ', a dashboard'),
    );
  }

  #resolve(): ResolvedConfig | undefined {
    const { service } = this.#serverless;
    const provider = this.#serverless.getProvider('aws');
    return resolveConfig({
      custom: service.custom?.nhi,
      stage: provider.getStage?.() ?? service.provider.stage,
      serviceDir: this.#serverless.serviceDir ?? this.#serverless.config?.servicePath ?? process.cwd(),
      providerEnvironment: service.provider.environment,
      functions: service.getAllFunctions().map((key) => {
        const fn = service.getFunction(key);
        return { key, nhi: fn.nhi, environment: fn.environment };
      }),
    });
  }

  /** Runs `work`, reporting a configuration error as a `ServerlessError` (no stack trace, exit 1). */
  #guard<T>(work: () => T): T {
    try {
      return work();
    } catch (error) {
      if (error instanceof NhiError && error.reason === 'invalid_config') {
        const reported = new this.#serverless.classes.Error(error.message, ERROR_CODE);
        throw Object.assign(reported, { cause: error });
      }
      throw error;
    }
  }
}
