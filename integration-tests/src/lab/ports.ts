import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

/** Loopback address every lab daemon listens on. */
export const LOOPBACK = '127.0.0.1';

/** A TCP port free on loopback right now. */
export const freeTcpPort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      const address = server.address();
      server.close(() => {
        if (typeof address === 'object' && address !== null) resolve(address.port);
        else reject(new Error('no TCP port assigned'));
      });
    });
  });

const udpPortIsFree = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, LOOPBACK, () => socket.close(() => resolve(true)));
  });

/**
 * A loopback port that is free for both TCP and UDP right now (DNS servers need both), chosen
 * by the OS among high ports. Another process may still take it before the daemon binds it;
 * the daemon then fails to start with a clear error rather than sharing the port.
 */
export const freeDnsPort = async (): Promise<number> => {
  for (let tries = 0; tries < 20; tries++) {
    const port = await freeTcpPort();
    if (await udpPortIsFree(port)) return port;
  }
  throw new Error('no loopback port free for both TCP and UDP after 20 tries');
};
