import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TestCert {
  certPem: string;
  keyPem: string;
}

/** A throwaway CA and the certificates it signs, made with openssl at run time. */
export class TestCa {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-test-ca-'));
  readonly ca: TestCert;

  constructor(name = 'Kura Test CA') {
    this.ssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30', '-subj', `/CN=${name}`,
      '-keyout', 'ca.key', '-out', 'ca.pem', '-addext', 'basicConstraints=critical,CA:true', '-addext', 'keyUsage=critical,keyCertSign']);
    this.ca = this.read('ca');
  }

  /** A leaf for these names (DNS names, or "IP:127.0.0.1"), signed by this CA. */
  leaf(names: string[], file = `leaf-${Math.random().toString(36).slice(2, 8)}`): TestCert {
    const ext = path.join(this.dir, `${file}.ext`);
    fs.writeFileSync(ext, `subjectAltName=${names.map((n) => (n.startsWith('IP:') ? n : `DNS:${n}`)).join(',')}\n`);
    this.ssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${names[0]}`, '-keyout', `${file}.key`, '-out', `${file}.csr`]);
    this.ssl(['x509', '-req', '-in', `${file}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '7', '-extfile', ext, '-out', `${file}.pem`]);
    return this.read(file);
  }

  /** Where a certificate or key of this CA is on disk ("ca.pem", "<file>.pem", "<file>.key"). */
  file(name: string): string {
    return path.join(this.dir, name);
  }

  close(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private read(file: string): TestCert {
    return { certPem: fs.readFileSync(path.join(this.dir, `${file}.pem`), 'utf8'), keyPem: fs.readFileSync(path.join(this.dir, `${file}.key`), 'utf8') };
  }

  private ssl(args: string[]): void {
    execFileSync('openssl', args, { cwd: this.dir, stdio: 'ignore' });
  }
}
