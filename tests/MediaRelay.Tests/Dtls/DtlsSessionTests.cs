using Teletherapy.MediaRelay.Client;
using Teletherapy.MediaRelay.Dtls;
using Teletherapy.MediaRelay.Srtp;
using Teletherapy.MediaRelay.Tests.Srtp;

namespace Teletherapy.MediaRelay.Tests.Dtls;

public sealed class DtlsSessionTests
{
    [Theory]
    [InlineData(SrtpProfile.AeadAes128Gcm)]
    [InlineData(SrtpProfile.AeadAes256Gcm)]
    [InlineData(SrtpProfile.Aes128CmHmacSha1_80)]
    public async Task HandshakeAgreesOnTheProfileAndKeysWorkBothWays(Enum profileCase)
    {
        var profile = (SrtpProfile)profileCase;
        var serverOptions = new DtlsOptions { SrtpProfiles = [profile] };
        using var pair = new DtlsSessionPair(serverOptions: serverOptions);
        (DtlsSrtpKeys server, DtlsSrtpKeys client) = await pair.HandshakeAsync();

        Assert.Equal(profile, server.Profile);
        Assert.Equal(profile, client.Profile);
        Assert.Equal(DtlsRole.Server, server.Role);
        Assert.Equal(DtlsRole.Client, client.Role);
        Assert.Equal(profile.KeyLength(), server.LocalMasterKey.Length);
        Assert.Equal(profile.SaltLength(), server.LocalMasterSalt.Length);

        // RFC 5764 §4.2: what one side protects with is what the other unprotects with.
        Assert.True(server.LocalMasterKey.SequenceEqual(client.RemoteMasterKey));
        Assert.True(server.LocalMasterSalt.SequenceEqual(client.RemoteMasterSalt));
        Assert.True(client.LocalMasterKey.SequenceEqual(server.RemoteMasterKey));
        Assert.False(client.LocalMasterKey.SequenceEqual(server.LocalMasterKey));

        Assert.True(DtlsSessionPair.ClientCertificate.DerEncoded.SequenceEqual(server.RemoteCertificate.Span));
        Assert.True(DtlsSessionPair.ServerCertificate.DerEncoded.SequenceEqual(client.RemoteCertificate.Span));

        server.CreateContexts(out SrtpContext serverOut, out SrtpContext serverIn);
        client.CreateContexts(out SrtpContext clientOut, out SrtpContext clientIn);
        AssertDelivers(clientOut, serverIn);
        AssertDelivers(serverOut, clientIn);
        Assert.False(Delivers(clientOut, clientIn)); // each direction has its own keys
    }

    [Fact]
    public async Task ServerPrefersGcm128AmongEverythingTheClientOffers()
    {
        using var pair = new DtlsSessionPair(clientOptions: new DtlsOptions
        {
            SrtpProfiles = [SrtpProfile.Aes128CmHmacSha1_80, SrtpProfile.AeadAes256Gcm, SrtpProfile.AeadAes128Gcm],
        });
        (DtlsSrtpKeys server, DtlsSrtpKeys client) = await pair.HandshakeAsync();
        Assert.Equal(SrtpProfile.AeadAes128Gcm, server.Profile);
        Assert.Equal(SrtpProfile.AeadAes128Gcm, client.Profile);
    }

    [Fact]
    public async Task ClientOfferingOnlyCm80GetsCm80()
    {
        using var pair = new DtlsSessionPair(clientOptions: new DtlsOptions { SrtpProfiles = [SrtpProfile.Aes128CmHmacSha1_80] });
        (DtlsSrtpKeys server, DtlsSrtpKeys client) = await pair.HandshakeAsync();
        Assert.Equal(SrtpProfile.Aes128CmHmacSha1_80, server.Profile);
        Assert.Equal(SrtpProfile.Aes128CmHmacSha1_80, client.Profile);
        Assert.Equal(16, client.LocalMasterKey.Length);
        Assert.Equal(14, client.LocalMasterSalt.Length);
    }

    [Fact]
    public async Task NoCommonProfileFailsTheHandshake()
    {
        using var pair = new DtlsSessionPair(
            serverOptions: new DtlsOptions { SrtpProfiles = [SrtpProfile.AeadAes256Gcm] },
            clientOptions: new DtlsOptions { SrtpProfiles = [SrtpProfile.Aes128CmHmacSha1_80] });
        pair.Start();
        var failure = await Assert.ThrowsAsync<DtlsHandshakeException>(() => pair.Server.Handshake.WaitAsync(TimeSpan.FromSeconds(15)));
        Assert.Equal((short?)40, failure.Alert); // handshake_failure
        await Assert.ThrowsAsync<DtlsHandshakeException>(() => pair.Client.Handshake.WaitAsync(TimeSpan.FromSeconds(15)));
    }

    [Fact]
    public async Task ServerRejectsClientCertificateThatDoesNotMatchTheSdpFingerprint()
    {
        DtlsFingerprint wrong = DtlsCertificate.Generate("someone-else").Fingerprint;
        using var pair = new DtlsSessionPair(serverExpects: wrong);
        pair.Start();

        var failure = await Assert.ThrowsAsync<DtlsHandshakeException>(() => pair.Server.Handshake.WaitAsync(TimeSpan.FromSeconds(15)));
        Assert.Equal((short?)42, failure.Alert); // bad_certificate, raised by the server
        var clientFailure = await Assert.ThrowsAsync<DtlsHandshakeException>(() => pair.Client.Handshake.WaitAsync(TimeSpan.FromSeconds(15)));
        Assert.Equal((short?)42, clientFailure.Alert); // received from the server
        await pair.Server.Closed.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task ClientRejectsServerCertificateThatDoesNotMatchTheSdpFingerprint()
    {
        DtlsFingerprint wrong = DtlsCertificate.Generate("impostor").Fingerprint;
        using var pair = new DtlsSessionPair(clientExpects: wrong);
        pair.Start();

        var failure = await Assert.ThrowsAsync<DtlsHandshakeException>(() => pair.Client.Handshake.WaitAsync(TimeSpan.FromSeconds(15)));
        Assert.Equal((short?)42, failure.Alert);
        await Assert.ThrowsAsync<DtlsHandshakeException>(() => pair.Server.Handshake.WaitAsync(TimeSpan.FromSeconds(15)));
    }

    [Fact]
    public async Task SmallMtuFragmentsTheHandshakeAndStillCompletes()
    {
        using var pair = new DtlsSessionPair(
            serverOptions: new DtlsOptions { SendLimit = 300 },
            clientOptions: new DtlsOptions { SendLimit = 300 });
        (DtlsSrtpKeys server, DtlsSrtpKeys client) = await pair.HandshakeAsync();

        Assert.Equal(server.Profile, client.Profile);
        Assert.InRange(pair.MaxClientDatagram, 1, 300);
        Assert.InRange(pair.MaxServerDatagram, 1, 300);
        server.CreateContexts(out SrtpContext serverOut, out _);
        client.CreateContexts(out _, out SrtpContext clientIn);
        AssertDelivers(serverOut, clientIn);
    }

    [Fact]
    public async Task ClientHelloLargerThanTheServersLimitIsFragmentedByTheClient()
    {
        // Like Chrome's ~1.4 KB ClientHello arriving in two datagrams; no HelloVerifyRequest is involved.
        using var pair = new DtlsSessionPair(clientOptions: new DtlsOptions { SendLimit = 200 });
        (DtlsSrtpKeys server, DtlsSrtpKeys client) = await pair.HandshakeAsync();
        Assert.Equal(server.Profile, client.Profile);
        Assert.InRange(pair.MaxClientDatagram, 1, 200);
    }

    [Fact]
    public async Task LostFirstFlightIsRecoveredByRetransmission()
    {
        using var pair = new DtlsSessionPair(dropFromClient: n => n == 1);
        (DtlsSrtpKeys server, DtlsSrtpKeys client) = await pair.HandshakeAsync();
        Assert.Equal(server.Profile, client.Profile);
        Assert.True(pair.ClientDatagrams > 1);
    }

    [Fact]
    public async Task LostServerFlightIsRecoveredByRetransmission()
    {
        using var pair = new DtlsSessionPair(dropFromServer: n => n == 1);
        (DtlsSrtpKeys server, DtlsSrtpKeys client) = await pair.HandshakeAsync();
        Assert.True(server.LocalMasterKey.SequenceEqual(client.RemoteMasterKey));
    }

    [Fact]
    public async Task LostFinalServerFlightIsAnsweredAfterTheServersHandshakeEnded()
    {
        // The server's last flight (ChangeCipherSpec, then its encrypted Finished in epoch 1) is lost once: the server
        // has finished its handshake, holds no thread any more, and must still answer the client's retransmitted
        // flight with its own (RFC 6347 §4.2.4), or the client never completes.
        int dropped = 0;
        using var pair = new DtlsSessionPair(dropServerDatagram: datagram =>
            IsFinalFlight(datagram) && Volatile.Read(ref dropped) < 2 && Interlocked.Increment(ref dropped) <= 2);
        pair.Start();
        DtlsSrtpKeys server = await pair.Server.Handshake.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.False(pair.Client.Handshake.IsCompleted);

        DtlsSrtpKeys client = await pair.Client.Handshake.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.True(server.LocalMasterKey.SequenceEqual(client.RemoteMasterKey));
        Assert.True(dropped >= 1);
    }

    [Fact]
    public async Task HandshakesShareBoundedThreadsAndNoSessionKeepsOneAfterwards()
    {
        var threads = new DtlsHandshakeThreads(TimeSpan.FromMilliseconds(200), maxThreads: 2);
        var options = new DtlsOptions { Threads = threads };

        // Three pairs at once on two threads: each pair's server and client take both, the others wait their turn.
        var pairs = Enumerable.Range(0, 3).Select(_ => new DtlsSessionPair(serverOptions: options, clientOptions: options)).ToList();
        try
        {
            foreach (var pair in pairs)
            {
                pair.Start();
            }

            foreach (var pair in pairs)
            {
                await pair.Server.Handshake.WaitAsync(TimeSpan.FromSeconds(30));
                await pair.Client.Handshake.WaitAsync(TimeSpan.FromSeconds(30));
                Assert.InRange(threads.Threads, 0, 2);
            }

            // A handshake completes inside its job, so the thread that ran it may still be counted busy for a moment.
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while ((threads.Busy > 0 || threads.Threads > 0) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }

            Assert.Equal(0, threads.Busy);
            Assert.Equal(0, threads.Threads);

            // With no thread left, records after the handshake are still read: close_notify ends the peer's session.
            pairs[0].Client.Close();
            await pairs[0].Server.Closed.WaitAsync(TimeSpan.FromSeconds(5));
            Assert.False(pairs[1].Server.Closed.IsCompleted);
        }
        finally
        {
            pairs.ForEach(pair => pair.Dispose());
        }
    }

    [Fact]
    public async Task RsaClientCertificateIsAccepted()
    {
        // GStreamer's webrtcbin presents RSA-2048; the server's CertificateRequest includes rsa_sign for it.
        DtlsCertificate rsa = DtlsCertificate.GenerateRsa();
        using var pair = new DtlsSessionPair(clientCertificate: rsa);
        (DtlsSrtpKeys server, _) = await pair.HandshakeAsync();
        Assert.True(rsa.DerEncoded.SequenceEqual(server.RemoteCertificate.Span));
    }

    [Fact]
    public async Task CloseSendsCloseNotifyAndThePeerSeesTheSessionEnd()
    {
        using var pair = new DtlsSessionPair();
        await pair.HandshakeAsync();
        Assert.False(pair.Server.Closed.IsCompleted);

        pair.Client.Close();
        await pair.Client.Closed.WaitAsync(TimeSpan.FromSeconds(5));
        await pair.Server.Closed.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Theory]
    [InlineData(DtlsRole.Client)]
    [InlineData(DtlsRole.Server)]
    public async Task HandshakeWithSilentPeerTimesOut(Enum roleCase)
    {
        var role = (DtlsRole)roleCase;
        var options = new DtlsOptions { HandshakeTimeout = TimeSpan.FromSeconds(1) };
        var session = role == DtlsRole.Client
            ? DtlsClient.Session(DtlsSessionPair.ClientCertificate, DtlsSessionPair.ServerCertificate.Fingerprint, _ => { }, options)
            : new DtlsSession(DtlsSessionPair.ClientCertificate, DtlsSessionPair.ServerCertificate.Fingerprint, _ => { }, options);
        Assert.Equal(role, session.Role);
        session.Start();
        await Assert.ThrowsAsync<DtlsHandshakeException>(() => session.Handshake.WaitAsync(TimeSpan.FromSeconds(10)));
        await session.Closed.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task CloseAbortsARunningHandshake()
    {
        var session = new DtlsSession(DtlsSessionPair.ServerCertificate, DtlsSessionPair.ClientCertificate.Fingerprint, _ => { });
        session.Start();
        session.Close();
        await Assert.ThrowsAsync<DtlsHandshakeException>(() => session.Handshake.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.False(session.Enqueue(new byte[] { 22, 254, 253 }));
    }

    /// <summary>A datagram of the server's last flight: it starts with ChangeCipherSpec (20) or is a record of epoch 1.</summary>
    private static bool IsFinalFlight(byte[] datagram) =>
        datagram.Length >= 13 && (datagram[0] == 20 || (datagram[3] << 8 | datagram[4]) == 1);

    private static void AssertDelivers(SrtpContext sender, SrtpContext receiver) => Assert.True(Delivers(sender, receiver));

    private static bool Delivers(SrtpContext sender, SrtpContext receiver)
    {
        byte[] rtp = SrtpTestPackets.BuildRtp(0x1111, 7, payloadLength: 100);
        byte[] original = rtp.ToArray();
        int length = SrtpTestPackets.RtpLength(rtp);
        if (!sender.TryProtectRtp(rtp, length, out int protectedLength) || !receiver.TryUnprotectRtp(rtp, protectedLength, out int plain))
        {
            return false;
        }

        byte[] rtcp = SrtpTestPackets.BuildRtcp(0x1111);
        int rtcpLength = SrtpTestPackets.RtcpLength(rtcp);
        return plain == length && original.AsSpan(0, length).SequenceEqual(rtp.AsSpan(0, length))
            && sender.TryProtectRtcp(rtcp, rtcpLength, out int protectedRtcp)
            && receiver.TryUnprotectRtcp(rtcp, protectedRtcp, out _);
    }
}
