/**
 * How failed Redis calls are classified. The replies are Redis 7.0.15's, as redis-cli printed
 * them (a script's reply carries "script: <sha>, on @user_script:<line>").
 */
import { describe, expect, it } from 'vitest';
import { toRedisError } from '@elephant/redis';

const sha = '756928dd1246249109cfe8475bfa267e967ea948';

describe('toRedisError', () => {
  it.each([
    ['out of memory inside a script', `OOM command not allowed when used memory > 'maxmemory'. script: ${sha}, on @user_script:1.`],
    ['out of memory', "OOM command not allowed when used memory > 'maxmemory'."],
    ['out of memory caught per event by the resolve script', `ERR Error running script for event e-1: OOM command not allowed when used memory > 'maxmemory'. script: ${sha}, on @user_script:310.`],
    ['busy with a script', 'BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.'],
    ['loading', 'LOADING Redis is loading the dataset in memory'],
    ['a replica after a failover', `READONLY You can't write against a read only replica. script: ${sha}, on @user_script:3.`],
    ['a cluster down', 'CLUSTERDOWN The cluster is down'],
  ])('regression (a full Redis stopped the services for good): %s is retryable (REDIS_UNAVAILABLE)', (_, reply) => {
    const error = toRedisError(new Error(reply), 'resolve');
    expect(error.code).toBe('REDIS_UNAVAILABLE');
    expect(error.retryable).toBe(true);
  });

  it.each([
    ['a wrong type inside a script', `WRONGTYPE Operation against a key holding the wrong kind of value script: ${sha}, on @user_script:1.`],
    ['a runtime error of a script', `ERR user_script:12: Script attempted to access nonexistent global variable 'x' script: ${sha}, on @user_script:12.`],
  ])('%s is the script’s own failure, not retried (REDIS_SCRIPT_FAILED)', (_, reply) => {
    const error = toRedisError(new Error(reply), 'resolve');
    expect(error.code).toBe('REDIS_SCRIPT_FAILED');
    expect(error.retryable).toBe(false);
  });
});
