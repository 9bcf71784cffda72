export { AvroRegistry, projection, projectionWithout, type RecordSchemaJson, type AvroSchema, type AvroType, type Compatibility, type DecodeResult, type RegisteredSchema, type RegistryOptions } from './registry.ts';
export { RegistryError, REGISTRY_ERROR_CODES, type RegistryErrorCode } from './errors.ts';
export { readSchemaId, frame, MAGIC_BYTE, HEADER_LENGTH } from './wire.ts';
export { avscStringWriters } from './strings.ts';
