import { describe, expect, it } from 'vitest';
import { isNotFound, nodeError } from '../../server/docker/errors.js';
import { HostPortTakenError, NodeCallError, NodeResourceMissingError, NodeUnavailableError } from '../../server/lib/errors.js';

/** Docker's failures become the panel's errors in docker/errors.ts and nowhere else. */
describe("Docker's errors as the panel's", () => {
  const answered = (statusCode: number, message: string) => ({ statusCode, json: { message } });

  it('names the host port another program holds, whichever proxy Docker uses', () => {
    const a = nodeError('lab1', 'container start', answered(500,
      'driver failed programming external connectivity on endpoint x: Bind for 10.231.1.2:20003 failed: port is already allocated'));
    expect(a).toBeInstanceOf(HostPortTakenError);
    expect((a as HostPortTakenError).port).toBe(20003);
    const b = nodeError('lab1', 'container start', answered(500, 'listen tcp4 0.0.0.0:20007: bind: address already in use'));
    expect((b as HostPortTakenError).port).toBe(20007);
  });

  it('tells a lost image or network on create apart from a plain 404 elsewhere', () => {
    expect(nodeError('lab1', 'container create', answered(404, 'No such image: sha256:abc'))).toBeInstanceOf(NodeResourceMissingError);
    expect(nodeError('lab1', 'container create', answered(404, 'network kura-net-cus_1 not found'))).toBeInstanceOf(NodeResourceMissingError);
    const inspect = nodeError('lab1', 'image inspect', answered(404, 'No such image: sha256:abc'));
    expect(inspect).toBeInstanceOf(NodeCallError);
    expect(isNotFound(inspect)).toBe(true);
  });

  it('says whether an unreachable node failed TLS verification or the network', () => {
    const tls = nodeError('lab1', 'info', { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    expect(tls).toBeInstanceOf(NodeUnavailableError);
    expect((tls as NodeUnavailableError).failure).toBe('tls');
    expect((nodeError('lab1', 'info', { code: 'ECONNREFUSED' }) as NodeUnavailableError).failure).toBe('network');
  });

  it('keeps a request the engine refused a call error, with node, call and status', () => {
    const e = nodeError('lab2', 'container create', answered(400, 'invalid mount config'));
    expect(e).toBeInstanceOf(NodeCallError);
    expect(e.details).toEqual({ node: 'lab2', call: 'container create', status: 400 });
    expect(e.message).toContain('invalid mount config');
  });
});
