/**
 * CDK app entry. `npx cdk synth` from infra/ (cdk.json compiles this file with esbuild and runs it). cdk-nag's
 * AwsSolutions pack runs as a policy-validation plugin: synth fails on any unacknowledged finding. Context:
 *   -c mskClusterArn=arn:...           use MSK instead of self-managed Kafka
 *   -c kafkaBootstrapServers=a:9092,b:9092
 *   -c dbHost=... -c dbPort=5432 -c dbName=slo_scout -c dbUser=slo_scout
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { bundleLambda } from './bundle.js';
import { SloScoutStack } from './stack.js';

export function buildApp(
  app: App = new App(),
  bundleDir: string = bundleLambda(),
): { app: App; stack: SloScoutStack } {
  const ctx = (k: string): string | undefined => {
    const v: unknown = app.node.tryGetContext(k);
    return typeof v === 'string' && v.length > 0 ? v : undefined;
  };
  const msk = ctx('mskClusterArn');
  const stack = new SloScoutStack(app, 'SloScout', {
    bundleDir,
    ...(msk ? { mskClusterArn: msk } : {}),
    kafkaBootstrapServers: (ctx('kafkaBootstrapServers') ?? 'b-1.kafka.internal:9092').split(','),
    database: {
      host: ctx('dbHost') ?? 'slo-scout-db.internal',
      port: Number(ctx('dbPort') ?? 5432),
      name: ctx('dbName') ?? 'slo_scout',
      user: ctx('dbUser') ?? 'slo_scout',
    },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stack };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  buildApp().app.synth();
}
