import type { Direction } from '@imspect/sdk';
import type { PluginLogger } from '@imspect/sdk';
import type { ProtocolHooks } from '@imspect/sdk';
import { PluginHost } from '../runtime/plugin-host.js';

export const DEFAULT_MAX_FRAME_SIZE = 64 * 1024;

export interface RegisteredProtocol {
  name: string;
  hooks: ProtocolHooks;
  maxFrameSize: number;
}

/** Which protocol plugin handles a connection: by destination port, then by the first bytes. */
export class ProtocolRegistry {
  private readonly byName = new Map<string, RegisteredProtocol>();
  private readonly byPort = new Map<number, RegisteredProtocol>();
  private readonly byTlsPort = new Map<number, RegisteredProtocol>();

  constructor(
    protocols: readonly RegisteredProtocol[],
    portOverrides: Record<string, string>,
    private readonly log: PluginLogger,
    /** Calls the protocols' hooks, and their sessions' and frames' (connections use it through the registry). */
    readonly host: PluginHost = new PluginHost(),
  ) {
    for (const protocol of protocols) {
      this.byName.set(protocol.name, protocol);
      for (const port of protocol.hooks.ports) this.claim(this.byPort, port, protocol);
      for (const port of protocol.hooks.tlsPorts ?? []) this.claim(this.byTlsPort, port, protocol);
    }
    for (const [port, name] of Object.entries(portOverrides)) {
      const protocol = this.byName.get(name);
      if (!protocol) {
        log.warn({ port, protocol: name }, `ports.${port} names protocol "${name}", which is not loaded`);
        continue;
      }
      this.byPort.set(Number(port), protocol);
    }
  }

  private claim(map: Map<number, RegisteredProtocol>, port: number, protocol: RegisteredProtocol): void {
    const holder = map.get(port);
    if (holder) {
      this.log.warn({ port, plugin: protocol.name }, `port ${port} is claimed by "${holder.name}" and "${protocol.name}"; "${holder.name}" keeps it (set ports.${port} to choose)`);
      return;
    }
    map.set(port, protocol);
  }

  get all(): RegisteredProtocol[] {
    return [...this.byName.values()];
  }

  get(name: string): RegisteredProtocol | undefined {
    return this.byName.get(name);
  }

  /** Plain ports with their protocol, for start-up output and firewall rules. */
  get ports(): Map<number, RegisteredProtocol> {
    return this.byPort;
  }

  forPort(port: number): RegisteredProtocol | undefined {
    return this.byPort.get(port);
  }

  isTlsPort(port: number): RegisteredProtocol | undefined {
    return this.byTlsPort.get(port);
  }

  /** Asks every protocol's `sniff`; the first that recognises the bytes wins. A throwing sniff counts as no. */
  sniff(firstBytes: Uint8Array, direction: Direction): RegisteredProtocol | undefined {
    for (const protocol of this.byName.values()) {
      if (!protocol.hooks.sniff) continue;
      try {
        if (this.host.call('protocol', protocol.name, protocol.hooks, 'sniff', firstBytes, direction)) return protocol;
      } catch (error) {
        this.log.error({ plugin: protocol.name, hook: 'sniff', err: error }, `protocol "${protocol.name}" failed in sniff`);
      }
    }
    return undefined;
  }

  /** The protocol's own sniff recognises a client's bytes (a throwing or missing sniff does not). */
  claims(protocol: RegisteredProtocol, firstBytes: Uint8Array): boolean {
    if (!protocol.hooks.sniff) return false;
    try {
      return this.host.call('protocol', protocol.name, protocol.hooks, 'sniff', firstBytes, 'outgoing') === true;
    } catch {
      return false;
    }
  }
}
