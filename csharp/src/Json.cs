using System.IO;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Foyer
{
    /// <summary>The one JSON configuration of the client: frames in, requests out.</summary>
    public static class Json
    {
        public static readonly JsonSerializer Serializer = JsonSerializer.Create(new JsonSerializerSettings
        {
            // Strings stay strings: a chat line that looks like a date must not become a DateTime.
            DateParseHandling = DateParseHandling.None,
            MissingMemberHandling = MissingMemberHandling.Ignore,
        });

        /// <summary>Parses one frame; strings are never read as dates.</summary>
        public static JToken Parse(string text)
        {
            using (var reader = new JsonTextReader(new StringReader(text)) { DateParseHandling = DateParseHandling.None })
            {
                return JToken.ReadFrom(reader);
            }
        }

        public static string Write(JToken token)
        {
            return token.ToString(Formatting.None);
        }

        /// <summary>An object as the JSON the server reads (null: an empty object).</summary>
        public static JToken From(object data)
        {
            if (data == null) return new JObject();
            var token = data as JToken;
            return token ?? JToken.FromObject(data, Serializer);
        }
    }

    /// <summary>One event frame: its name, the stream it belongs to, its position there, and its data.</summary>
    public sealed class EventFrame
    {
        public string Ev { get; set; }
        public string Stream { get; set; }
        public long Offset { get; set; }
        public string Epoch { get; set; }
        public JToken Data { get; set; }

        /// <summary>Snapshot events (game.snapshot, user.snapshot…) carry a stream's current position and replace what came before.</summary>
        public bool IsSnapshot
        {
            get { return Ev != null && Ev.EndsWith(".snapshot", System.StringComparison.Ordinal); }
        }
    }
}
