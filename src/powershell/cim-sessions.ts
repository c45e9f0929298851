/**
 * The CIM sessions of one PowerShell session (New-CimSession's objects: cmdlets/cim.ts), apart
 * from the cmdlets so that the cmdlet context (cmdlet.ts) can hold them.
 */
import { newGuid } from '../vhd/common/guid.js';
import { PsObject } from './value.js';

export const CIM_SESSION_TYPE = 'Microsoft.Management.Infrastructure.CimSession';

/** The CIM sessions of one PowerShell session (Get-CimSession lists only those: its documentation). */
export class CimSessions {
  private nextId = 1;
  readonly list: PsObject[] = [];

  add(computerName: string, protocol: 'WSMAN' | 'DCOM', name?: string): PsObject {
    const id = this.nextId++;
    const s = new PsObject([CIM_SESSION_TYPE, 'System.Object'], [
      ['Id', id],
      ['Name', name ?? `CimSession${id}`],
      ['InstanceId', newGuid()],
      ['ComputerName', computerName],
      ['Protocol', protocol],
    ]);
    this.list.push(s);
    return s;
  }

  remove(s: PsObject): void {
    const i = this.list.indexOf(s);
    if (i >= 0) this.list.splice(i, 1);
  }
}

