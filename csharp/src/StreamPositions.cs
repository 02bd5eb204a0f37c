using System.Collections.Generic;

namespace Foyer
{
    /// <summary>
    /// Where the client stands in each stream it receives: the last offset, in
    /// which epoch. It drops a frame it has had already (a replay overlapping
    /// what arrived before a connection dropped), and session.resume sends it all.
    /// Not thread-safe: the client guards it.
    /// </summary>
    public sealed class StreamPositions
    {
        private readonly Dictionary<string, StreamPosition> positions = new Dictionary<string, StreamPosition>();

        /// <summary>
        /// Takes a frame's position. False for a duplicate: an offset at or before the
        /// known one in the same epoch. Snapshots always pass and set the position.
        /// </summary>
        public bool Accept(EventFrame frame)
        {
            StreamPosition known;
            if (!frame.IsSnapshot && positions.TryGetValue(frame.Stream, out known) && known.Epoch == frame.Epoch && frame.Offset <= known.Offset)
            {
                return false;
            }
            Set(frame.Stream, frame.Offset, frame.Epoch);
            return true;
        }

        public void Set(string stream, long offset, string epoch)
        {
            positions[stream] = new StreamPosition { Stream = stream, Offset = offset, Epoch = epoch };
        }

        public bool Forget(string stream)
        {
            return positions.Remove(stream);
        }

        public void Clear()
        {
            positions.Clear();
        }

        public bool TryGet(string stream, out StreamPosition position)
        {
            return positions.TryGetValue(stream, out position);
        }

        /// <summary>Every position, ordered by stream name (what session.resume sends).</summary>
        public List<StreamPosition> ToList()
        {
            var list = new List<StreamPosition>();
            foreach (var p in positions.Values) list.Add(new StreamPosition { Stream = p.Stream, Offset = p.Offset, Epoch = p.Epoch });
            list.Sort((a, b) => string.CompareOrdinal(a.Stream, b.Stream));
            return list;
        }

        public int Count
        {
            get { return positions.Count; }
        }
    }
}
