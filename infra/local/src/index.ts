export { LocalStack, logExcerpt, COMPONENTS, type ComponentName, type ComponentStatus, type UpResult, type Reporter } from './stack.ts';
export { loadStackConfig, stackUrls, LOCAL_SASL_USER, LOCAL_TLS_DIR, REPO_ROOT, type SecureKafkaEndpoint, type StackConfig, type StackUrls } from './config.ts';
export { StackError, STACK_ERROR_CODES, type StackErrorCode } from './errors.ts';
export { waitFor } from './processes.ts';
