// cluster-key-slot ships no types: the one function used here (the Redis Cluster hash slot of a key, as ioredis computes it).
declare module 'cluster-key-slot' {
  export default function calculateSlot(key: string): number;
}
