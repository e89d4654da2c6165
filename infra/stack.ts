/**
 * The AWS deployment: every function of the registry (deploy/registry.ts) as a Lambda (Node 22, arm64) in a VPC,
 * fed by Kafka (MSK or self-managed) event source mappings with partial batch failure and an SQS on-failure
 * destination, S3 notifications for the archive bucket, a function URL for the API, credentials from Secrets
 * Manager, CloudWatch alarms.
 */
import {
  Aws,
  CfnOutput,
  Duration,
  Fn,
  RemovalPolicy,
  Stack,
  type StackProps,
  Validations,
  aws_cloudwatch as cw,
  aws_cloudwatch_actions as cwActions,
  aws_ec2 as ec2,
  aws_iam as iam,
  aws_kms as kms,
  aws_lambda as lambda,
  aws_lambda_event_sources as sources,
  aws_logs as logs,
  aws_s3 as s3,
  aws_secretsmanager as sm,
  aws_sns as sns,
  aws_sqs as sqs,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { deploymentRegistry, type DeploymentRegistry, type FunctionFacts } from '../deploy/registry.js';

export interface SloScoutStackProps extends StackProps {
  /** Directory holding the esbuild bundle (index.mjs). */
  readonly bundleDir: string;
  readonly registry?: DeploymentRegistry;
  /** MSK cluster ARN; when unset, a self-managed Kafka at kafkaBootstrapServers is used. */
  readonly mskClusterArn?: string;
  readonly kafkaBootstrapServers?: readonly string[];
  readonly database: {
    readonly host: string;
    readonly port: number;
    readonly name: string;
    readonly user: string;
  };
}

export class SloScoutStack extends Stack {
  readonly functions = new Map<string, lambda.Function>();

  constructor(scope: Construct, id: string, props: SloScoutStackProps) {
    super(scope, id, props);
    const reg = props.registry ?? deploymentRegistry();

    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 1,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC },
        { name: 'functions', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      ],
      flowLogs: { all: { trafficType: ec2.FlowLogTrafficType.REJECT } },
    });
    const sg = new ec2.SecurityGroup(this, 'FunctionsSg', {
      vpc,
      description: 'SLO-Scout functions: egress to Kafka, PostgreSQL, S3',
      allowAllOutbound: true,
    });

    const key = new kms.Key(this, 'Key', { enableKeyRotation: true, description: 'SLO-Scout data key' });

    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [{ expiration: Duration.days(90) }],
    });
    const archive = new s3.Bucket(this, 'Archive', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: false,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'archive/',
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        {
          id: 'raw-telemetry',
          prefix: 'raw/',
          transitions: [
            { storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(30) },
          ],
          expiration: Duration.days(365),
        },
        { id: 'imports', prefix: 'imports/', expiration: Duration.days(30) },
        { id: 'claim-checks', prefix: 'claims/', expiration: Duration.days(7) },
        { id: 'abort-multipart', abortIncompleteMultipartUploadAfter: Duration.days(2) },
      ],
    });

    const dbSecret = new sm.Secret(this, 'DatabaseSecret', {
      description: 'SLO-Scout PostgreSQL/TimescaleDB credentials',
      encryptionKey: key,
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ username: props.database.user }),
        generateStringKey: 'password',
        excludePunctuation: true,
      },
    });
    const milvusSecret = new sm.Secret(this, 'MilvusSecret', {
      description: 'SLO-Scout Milvus token (user:password or API key)',
      encryptionKey: key,
      generateSecretString: { excludePunctuation: true },
    });

    const dlq = new sqs.Queue(this, 'DeadLetters', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const alarms = new sns.Topic(this, 'Alarms', { masterKey: key, enforceSSL: true });

    const code = lambda.Code.fromAsset(props.bundleDir);
    const bootstrap = props.kafkaBootstrapServers ?? ['b-1.kafka.internal:9092'];
    const dbUrl = Fn.join('', [
      `postgresql://${props.database.user}:`,
      dbSecret.secretValueFromJson('password').unsafeUnwrap(),
      `@${props.database.host}:${props.database.port}/${props.database.name}?sslmode=require`,
    ]);
    const envValue = (f: FunctionFacts, name: string): string | undefined => {
      switch (name) {
        case 'SLO_SCOUT_LOG_LEVEL':
          return 'info';
        case 'SLO_SCOUT_TENANT':
          return 'default';
        case 'SLO_SCOUT_KAFKA_BROKERS':
          return bootstrap.join(',');
        case 'SLO_SCOUT_HOST':
          return '0.0.0.0';
        case 'SLO_SCOUT_DATABASE_URL':
          return dbUrl;
        case 'SLO_SCOUT_S3_BUCKET':
          return archive.bucketName;
        case 'SLO_SCOUT_S3_REGION':
          return Aws.REGION;
        case 'SLO_SCOUT_MILVUS_TOKEN':
          return milvusSecret.secretValue.unsafeUnwrap();
        case 'SLO_SCOUT_MODEL_DIR':
          return '/opt/models';
        case 'SLO_SCOUT_ALLOW_MODEL_DOWNLOAD':
          return 'false';
        default:
          // S3 endpoint/keys: the AWS default endpoint and the function role; Milvus address: set per account.
          void f;
          return undefined;
      }
    };

    for (const f of reg.functions) {
      const env: Record<string, string> = { NODE_OPTIONS: '--enable-source-maps' };
      for (const n of f.env) {
        const v = envValue(f, n);
        if (v !== undefined) env[n] = v;
      }
      const logGroup = new logs.LogGroup(this, `${f.name}Logs`, {
        retention: logs.RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      const fn = new lambda.Function(this, `${f.name}Function`, {
        functionName: f.resourceName,
        description: f.description,
        runtime: lambda.Runtime.NODEJS_22_X,
        architecture: lambda.Architecture.ARM_64,
        code,
        handler: `index.${f.lambdaHandler}`,
        memorySize: f.needs.includes('embedder') ? 2048 : 512,
        timeout: Duration.minutes(f.kind === 'http' ? 1 : 5),
        reservedConcurrentExecutions: f.scaling.maxScale,
        vpc,
        vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
        securityGroups: [sg],
        environment: env,
        environmentEncryption: key,
        tracing: lambda.Tracing.ACTIVE,
        logGroup,
      });
      this.functions.set(f.name, fn);
      if (f.needs.includes('objects')) {
        // Object-level read/write in the one archive bucket (explicit actions, no action wildcards).
        fn.addToRolePolicy(
          new iam.PolicyStatement({
            actions: ['s3:GetObject', 's3:PutObject'],
            resources: [archive.arnForObjects('*')],
          }),
        );
        fn.addToRolePolicy(
          new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [archive.bucketArn] }),
        );
        Validations.of(fn).acknowledge({
          id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(archive.node.defaultChild as s3.CfnBucket)}.Arn>/*]`,
          reason:
            'Functions read and write objects under any key of the archive bucket (raw/, imports/, claims/, deployed/).',
        });
      }
      Validations.of(fn).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'X-Ray PutTraceSegments/PutTelemetryRecords and the ENI actions of VPC event source mappings do not support resource-level permissions.',
      });
      Validations.of(fn).acknowledge({
        id: 'AwsSolutions-L1',
        reason:
          'SLO-Scout targets Node.js 22 (engines >=22.12); the runtime moves with the project, not ahead of it.',
      });
      dbSecret.grantRead(fn);

      if (f.kind === 'event' && f.objectPrefix === null) {
        const common = {
          topic: f.topics[0]!,
          startingPosition: lambda.StartingPosition.TRIM_HORIZON,
          batchSize: 100,
          maxBatchingWindow: Duration.seconds(1),
          consumerGroupId: f.consumerGroup!,
          reportBatchItemFailures: true,
          bisectBatchOnError: true,
          retryAttempts: 5,
          onFailure: new sources.SqsDlq(dlq),
          provisionedPollerConfig: { minimumPollers: 1, maximumPollers: Math.max(1, f.scaling.maxScale) },
        };
        for (const action of ['kms:GenerateDataKey*', 'kms:ReEncrypt*'])
          Validations.of(fn).acknowledge({
            id: `AwsSolutions-IAM5[Action::${action}]`,
            reason:
              'Granted by the SQS on-failure destination on its one KMS key (the key is the only resource).',
          });
        for (const topic of f.topics) {
          const props2 = { ...common, topic, consumerGroupId: `${f.consumerGroup!}` };
          fn.addEventSource(
            props.mskClusterArn
              ? new sources.ManagedKafkaEventSource({ ...props2, clusterArn: props.mskClusterArn })
              : new sources.SelfManagedKafkaEventSource({
                  ...props2,
                  bootstrapServers: [...bootstrap],
                  vpc,
                  vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
                  securityGroup: sg,
                }),
          );
        }
      }
      if (f.objectPrefix !== null) {
        fn.addEventSource(
          new sources.S3EventSource(archive, {
            events: [s3.EventType.OBJECT_CREATED],
            filters: [{ prefix: f.objectPrefix }],
          }),
        );
      }
      if (f.kind === 'http') {
        const url = fn.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.AWS_IAM });
        new CfnOutput(this, 'ApiUrl', { value: url.url, description: 'SLO-Scout API (IAM-signed requests)' });
      }

      new cw.Alarm(this, `${f.name}Errors`, {
        alarmDescription: `${f.resourceName}: invocation errors`,
        metric: fn.metricErrors({ period: Duration.minutes(5) }),
        threshold: 1,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        treatMissingData: cw.TreatMissingData.NOT_BREACHING,
      }).addAlarmAction(new cwActions.SnsAction(alarms));
      new cw.Alarm(this, `${f.name}Throttles`, {
        alarmDescription: `${f.resourceName}: throttled invocations (reserved concurrency ${f.scaling.maxScale})`,
        metric: fn.metricThrottles({ period: Duration.minutes(5) }),
        threshold: 1,
        evaluationPeriods: 3,
        treatMissingData: cw.TreatMissingData.NOT_BREACHING,
      }).addAlarmAction(new cwActions.SnsAction(alarms));
    }
    Validations.of(dlq).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is the on-failure destination (dead-letter queue) itself.',
    });
    new cw.Alarm(this, 'DeadLettersVisible', {
      alarmDescription: 'Kafka batches the functions could not process landed in the on-failure queue',
      metric: dlq.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }),
      threshold: 1,
      evaluationPeriods: 1,
      treatMissingData: cw.TreatMissingData.NOT_BREACHING,
    }).addAlarmAction(new cwActions.SnsAction(alarms));

    new CfnOutput(this, 'ArchiveBucket', { value: archive.bucketName });
    new CfnOutput(this, 'DeadLetterQueue', { value: dlq.queueUrl });
    this.suppress(archive, accessLogs, [dbSecret, milvusSecret]);
  }

  private suppress(archive: s3.Bucket, accessLogs: s3.Bucket, secrets: sm.Secret[]): void {
    Validations.of(accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the server access log bucket itself; logging it would recurse.',
    });
    for (const s of secrets)
      Validations.of(s).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'The database and Milvus run outside this stack; rotation needs a rotation function bound to them, configured per account.',
      });
    for (const p of ['AWSLambdaBasicExecutionRole', 'AWSLambdaVPCAccessExecutionRole'])
      Validations.of(this).acknowledge({
        id: `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/${p}]`,
        reason: `${p} is the AWS-maintained minimal policy for Lambda logs and VPC network interfaces.`,
      });
    void archive;
  }
}
