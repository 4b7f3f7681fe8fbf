// MessagePack reader and writer (https://github.com/msgpack/msgpack/blob/master/spec.md); engine-free (no Unity types).
// Decoded values: null, bool, long (ulong above long.MaxValue), double, string, byte[], object[],
// Dictionary<string, object> (string keys only, as docs/protocol.md requires of headers).
// Every malformed input raises MsgPackException with the byte offset; nothing loops or allocates
// more than the input can justify.
using System;
using System.Collections;
using System.Collections.Generic;
using System.Text;

namespace AvatarLab.Protocol
{
    public sealed class MsgPackException : Exception
    {
        public readonly int Offset;
        public MsgPackException(string message, int offset)
            : base("malformed MessagePack at byte " + offset + ": " + message) { Offset = offset; }
    }

    public static class MsgPack
    {
        public const int MaxDepth = 64;
        static readonly UTF8Encoding StrictUtf8 = new UTF8Encoding(false, true);

        // ---- reading ------------------------------------------------------------------
        public static object Unpack(byte[] data) { return Unpack(data, 0, data.Length); }

        public static object Unpack(byte[] data, int offset, int count)
        {
            if (data == null) throw new ArgumentNullException("data");
            if (offset < 0 || count < 0 || offset + count > data.Length) throw new ArgumentOutOfRangeException("count");
            if (count == 0) throw new MsgPackException("empty input", offset);
            var reader = new Reader(data, offset, offset + count);
            object value = reader.Read(0);
            if (reader.Pos != offset + count)
                throw new MsgPackException((offset + count - reader.Pos) + " bytes left after the value", reader.Pos);
            return value;
        }

        /// <summary>Decode a header: a map with string keys.</summary>
        public static Dictionary<string, object> UnpackMap(byte[] data)
        {
            var map = Unpack(data) as Dictionary<string, object>;
            if (map == null) throw new MsgPackException("expected a map at the top level", 0);
            return map;
        }

        struct Reader
        {
            readonly byte[] buf;
            readonly int end;
            public int Pos;

            public Reader(byte[] data, int start, int end) { buf = data; Pos = start; this.end = end; }

            void Need(int n)
            {
                if (n < 0 || end - Pos < n)
                    throw new MsgPackException("truncated: need " + n + " bytes, " + (end - Pos) + " left", Pos);
            }

            byte U8() { Need(1); return buf[Pos++]; }
            ushort U16() { Need(2); ushort v = (ushort)(buf[Pos] << 8 | buf[Pos + 1]); Pos += 2; return v; }
            uint U32()
            {
                Need(4);
                uint v = (uint)buf[Pos] << 24 | (uint)buf[Pos + 1] << 16 | (uint)buf[Pos + 2] << 8 | buf[Pos + 3];
                Pos += 4; return v;
            }
            ulong U64() { ulong hi = U32(); ulong lo = U32(); return hi << 32 | lo; }

            int Length(uint n, int minBytesEach)
            {
                // a declared length the remaining bytes cannot hold is an error, not an allocation
                if (n > int.MaxValue || (long)n * minBytesEach > end - Pos)
                    throw new MsgPackException("declared length " + n + " exceeds the " + (end - Pos) + " bytes left", Pos);
                return (int)n;
            }

            string Str(uint n)
            {
                int len = Length(n, 1);
                int at = Pos;
                try { string s = StrictUtf8.GetString(buf, Pos, len); Pos += len; return s; }
                catch (DecoderFallbackException) { throw new MsgPackException("string is not valid UTF-8", at); }
            }

            byte[] Bin(uint n)
            {
                int len = Length(n, 1);
                var b = new byte[len];
                Buffer.BlockCopy(buf, Pos, b, 0, len);
                Pos += len; return b;
            }

            object[] Array(uint n, int depth)
            {
                int len = Length(n, 1);
                var a = new object[len];
                for (int i = 0; i < len; i++) a[i] = Read(depth + 1);
                return a;
            }

            Dictionary<string, object> Map(uint n, int depth)
            {
                int len = Length(n, 2);
                var m = new Dictionary<string, object>(len);
                for (int i = 0; i < len; i++)
                {
                    int at = Pos;
                    var key = Read(depth + 1) as string;
                    if (key == null) throw new MsgPackException("map key is not a string", at);
                    m[key] = Read(depth + 1);
                }
                return m;
            }

            object Ext(uint n)
            {
                int len = Length(n, 1);
                Need(1 + len);
                Pos += 1 + len; // type byte + data; no extension types are used by the protocol
                return new MsgPackExt(buf[Pos - len - 1], len);
            }

            public object Read(int depth)
            {
                if (depth > MaxDepth) throw new MsgPackException("nesting deeper than " + MaxDepth, Pos);
                int at = Pos;
                byte b = U8();
                if (b <= 0x7f) return (long)b;
                if (b >= 0xe0) return (long)(sbyte)b;
                if ((b & 0xf0) == 0x80) return Map((uint)(b & 0x0f), depth);
                if ((b & 0xf0) == 0x90) return Array((uint)(b & 0x0f), depth);
                if ((b & 0xe0) == 0xa0) return Str((uint)(b & 0x1f));
                switch (b)
                {
                    case 0xc0: return null;
                    case 0xc2: return false;
                    case 0xc3: return true;
                    case 0xc4: return Bin(U8());
                    case 0xc5: return Bin(U16());
                    case 0xc6: return Bin(U32());
                    case 0xc7: return Ext(U8());
                    case 0xc8: return Ext(U16());
                    case 0xc9: return Ext(U32());
                    case 0xca: { uint u = U32(); return (double)BitConverter.ToSingle(BitConverter.GetBytes(u), 0); }
                    case 0xcb: return BitConverter.Int64BitsToDouble((long)U64());
                    case 0xcc: return (long)U8();
                    case 0xcd: return (long)U16();
                    case 0xce: return (long)U32();
                    case 0xcf: { ulong u = U64(); return u <= long.MaxValue ? (object)(long)u : u; }
                    case 0xd0: return (long)(sbyte)U8();
                    case 0xd1: return (long)(short)U16();
                    case 0xd2: return (long)(int)U32();
                    case 0xd3: return (long)U64();
                    case 0xd4: return Ext(1);
                    case 0xd5: return Ext(2);
                    case 0xd6: return Ext(4);
                    case 0xd7: return Ext(8);
                    case 0xd8: return Ext(16);
                    case 0xd9: return Str(U8());
                    case 0xda: return Str(U16());
                    case 0xdb: return Str(U32());
                    case 0xdc: return Array(U16(), depth);
                    case 0xdd: return Array(U32(), depth);
                    case 0xde: return Map(U16(), depth);
                    case 0xdf: return Map(U32(), depth);
                    default: throw new MsgPackException("0x" + b.ToString("x2") + " is not a MessagePack type byte", at);
                }
            }
        }

        // ---- writing ------------------------------------------------------------------
        public static byte[] Pack(object value)
        {
            var w = new Writer();
            w.Write(value, 0);
            return w.ToArray();
        }

        sealed class Writer
        {
            byte[] buf = new byte[256];
            int len;

            public byte[] ToArray() { var r = new byte[len]; Buffer.BlockCopy(buf, 0, r, 0, len); return r; }

            void Room(int n)
            {
                if (len + n <= buf.Length) return;
                var nb = new byte[Math.Max(buf.Length * 2, len + n)];
                Buffer.BlockCopy(buf, 0, nb, 0, len); buf = nb;
            }
            void B(byte b) { Room(1); buf[len++] = b; }
            void BE(ulong v, int bytes) { Room(bytes); for (int i = bytes - 1; i >= 0; i--) buf[len++] = (byte)(v >> (8 * i)); }
            void Raw(byte[] b) { Room(b.Length); Buffer.BlockCopy(b, 0, buf, len, b.Length); len += b.Length; }

            void Int(long v)
            {
                if (v >= 0) { UInt((ulong)v); return; }
                if (v >= -32) B((byte)(sbyte)v);
                else if (v >= sbyte.MinValue) { B(0xd0); BE((ulong)v, 1); }
                else if (v >= short.MinValue) { B(0xd1); BE((ulong)v, 2); }
                else if (v >= int.MinValue) { B(0xd2); BE((ulong)v, 4); }
                else { B(0xd3); BE((ulong)v, 8); }
            }

            void UInt(ulong v)
            {
                if (v <= 0x7f) B((byte)v);
                else if (v <= byte.MaxValue) { B(0xcc); BE(v, 1); }
                else if (v <= ushort.MaxValue) { B(0xcd); BE(v, 2); }
                else if (v <= uint.MaxValue) { B(0xce); BE(v, 4); }
                else { B(0xcf); BE(v, 8); }
            }

            void Header(int n, byte fix, int fixMax, byte c16, byte c32)
            {
                if (n <= fixMax) B((byte)(fix | n));
                else if (n <= ushort.MaxValue) { B(c16); BE((ulong)n, 2); }
                else { B(c32); BE((ulong)n, 4); }
            }

            public void Write(object value, int depth)
            {
                if (depth > MaxDepth) throw new ArgumentException("value nested deeper than " + MaxDepth);
                if (value == null) { B(0xc0); return; }
                if (value is bool) { B((bool)value ? (byte)0xc3 : (byte)0xc2); return; }
                if (value is string)
                {
                    byte[] s = Encoding.UTF8.GetBytes((string)value);
                    if (s.Length <= 31) B((byte)(0xa0 | s.Length));
                    else if (s.Length <= byte.MaxValue) { B(0xd9); BE((ulong)s.Length, 1); }
                    else if (s.Length <= ushort.MaxValue) { B(0xda); BE((ulong)s.Length, 2); }
                    else { B(0xdb); BE((ulong)s.Length, 4); }
                    Raw(s); return;
                }
                if (value is byte[])
                {
                    var b = (byte[])value;
                    if (b.Length <= byte.MaxValue) { B(0xc4); BE((ulong)b.Length, 1); }
                    else if (b.Length <= ushort.MaxValue) { B(0xc5); BE((ulong)b.Length, 2); }
                    else { B(0xc6); BE((ulong)b.Length, 4); }
                    Raw(b); return;
                }
                if (value is int || value is long || value is short || value is sbyte) { Int(Convert.ToInt64(value)); return; }
                if (value is uint || value is ulong || value is ushort || value is byte) { UInt(Convert.ToUInt64(value)); return; }
                if (value is float) { B(0xca); BE(BitConverter.ToUInt32(BitConverter.GetBytes((float)value), 0), 4); return; }
                if (value is double) { B(0xcb); BE((ulong)BitConverter.DoubleToInt64Bits((double)value), 8); return; }
                var dict = value as IDictionary;
                if (dict != null)
                {
                    Header(dict.Count, 0x80, 15, 0xde, 0xdf);
                    foreach (DictionaryEntry e in dict) { Write(e.Key, depth + 1); Write(e.Value, depth + 1); }
                    return;
                }
                var list = value as IList;
                if (list != null)
                {
                    Header(list.Count, 0x90, 15, 0xdc, 0xdd);
                    foreach (object item in list) Write(item, depth + 1);
                    return;
                }
                throw new ArgumentException("cannot pack a " + value.GetType().Name);
            }
        }
    }

    /// <summary>An extension value (the protocol uses none); kept so such input is skipped, not rejected.</summary>
    public sealed class MsgPackExt
    {
        public readonly sbyte Type;
        public readonly int Length;
        public MsgPackExt(byte type, int length) { Type = (sbyte)type; Length = length; }
    }
}
