// A small FIX 4.4 executor on QuickFIX (Debian's libquickfix-dev): the broker our FIX engine is
// tested against. It acknowledges every NewOrderSingle and fills it at its limit price (or 100 for
// a market order): in full under 100, in two halves from 100, not at all from 1000 (the order
// rests); it cancels resting orders and refuses to cancel the others (filled or unknown); it
// replaces a resting order's quantity and limit (filling it at once when the new quantity is
// under 1000) and refuses to replace the others; it
// answers RequestForPositions with a PositionReport per symbol traded (net of its fills, TQ), and
// a CollateralInquiry with a CollateralReport of 42,000 USD held.
// Built and started by the tests (g++ -std=gnu++11 -DHAVE_SSL=1 … -lquickfix: QuickFIX 1.15's headers
// use dynamic exception specifications): executor CONFIG [ssl]. Stops on SIGTERM.
#include <quickfix/Application.h>
#include <quickfix/FileLog.h>
#include <quickfix/FileStore.h>
#include <quickfix/MessageCracker.h>
#include <quickfix/SSLSocketAcceptor.h>
#include <quickfix/Session.h>
#include <quickfix/SessionSettings.h>
#include <quickfix/SocketAcceptor.h>
#include <quickfix/fix44/CollateralInquiry.h>
#include <quickfix/fix44/CollateralReport.h>
#include <quickfix/fix44/ExecutionReport.h>
#include <quickfix/fix44/NewOrderSingle.h>
#include <quickfix/fix44/OrderCancelReject.h>
#include <quickfix/fix44/OrderCancelReplaceRequest.h>
#include <quickfix/fix44/OrderCancelRequest.h>
#include <quickfix/fix44/PositionReport.h>
#include <quickfix/fix44/RequestForPositions.h>

#include <csignal>
#include <ctime>
#include <iostream>
#include <unistd.h>
#include <map>
#include <memory>
#include <string>

class Executor : public FIX::Application, public FIX::MessageCracker {
public:
    void onCreate(const FIX::SessionID&) override {}
    void onLogon(const FIX::SessionID& id) override { std::cout << "logon " << id << std::endl; }
    void onLogout(const FIX::SessionID& id) override { std::cout << "logout " << id << std::endl; }
    void toAdmin(FIX::Message&, const FIX::SessionID&) override {}
    void toApp(FIX::Message&, const FIX::SessionID&) throw(FIX::DoNotSend) override {}
    void fromAdmin(const FIX::Message&, const FIX::SessionID&)
        throw(FIX::FieldNotFound, FIX::IncorrectDataFormat, FIX::IncorrectTagValue, FIX::RejectLogon) override {}
    void fromApp(const FIX::Message& message, const FIX::SessionID& id)
        throw(FIX::FieldNotFound, FIX::IncorrectDataFormat, FIX::IncorrectTagValue, FIX::UnsupportedMessageType) override {
        crack(message, id);
    }

    void onMessage(const FIX44::NewOrderSingle& order, const FIX::SessionID& id) override {
        FIX::ClOrdID clOrdID;
        FIX::Symbol symbol;
        FIX::Side side;
        FIX::OrderQty quantity;
        FIX::OrdType type;
        order.get(clOrdID);
        order.get(symbol);
        order.get(side);
        order.get(quantity);
        order.get(type);
        double price = 100;
        if (type == FIX::OrdType_LIMIT) {
            FIX::Price limit;
            order.get(limit);
            price = limit;
        }
        std::string orderID = "BRK-" + std::to_string(++orders);
        known[clOrdID.getValue()] = orderID;
        report(id, orderID, clOrdID, symbol, side, FIX::ExecType_NEW, FIX::OrdStatus_NEW, quantity, 0, 0, 0);
        if (quantity >= 1000) {
            resting[clOrdID.getValue()] = Resting{orderID, symbol.getValue(), side.getValue(), quantity};
            return;
        }
        net[symbol.getValue()] += (side == FIX::Side_BUY ? 1.0 : -1.0) * quantity;
        if (quantity >= 100) {
            double half = quantity / 2;
            report(id, orderID, clOrdID, symbol, side, FIX::ExecType_TRADE, FIX::OrdStatus_PARTIALLY_FILLED,
                   quantity - half, half, price, half);
        }
        report(id, orderID, clOrdID, symbol, side, FIX::ExecType_TRADE, FIX::OrdStatus_FILLED, 0, quantity, price,
               quantity >= 100 ? quantity - quantity / 2 : (double)quantity);
    }

    void onMessage(const FIX44::OrderCancelRequest& request, const FIX::SessionID& id) override {
        FIX::OrigClOrdID original;
        FIX::ClOrdID clOrdID;
        request.get(original);
        request.get(clOrdID);
        auto open = resting.find(original.getValue());
        if (open != resting.end()) {
            Resting order = open->second;
            resting.erase(open);
            FIX44::ExecutionReport report(FIX::OrderID(order.orderID), FIX::ExecID("EXE-" + std::to_string(++executions)),
                                          FIX::ExecType(FIX::ExecType_CANCELED), FIX::OrdStatus(FIX::OrdStatus_CANCELED),
                                          FIX::Side(order.side), FIX::LeavesQty(0), FIX::CumQty(0), FIX::AvgPx(0));
            report.set(clOrdID);
            report.set(original);
            report.set(FIX::Symbol(order.symbol));
            FIX::Session::sendToTarget(report, id);
            return;
        }
        FIX44::OrderCancelReject reject(FIX::OrderID(known.count(original.getValue()) ? known[original.getValue()] : "NONE"),
                                        clOrdID, original, FIX::OrdStatus(FIX::OrdStatus_FILLED),
                                        FIX::CxlRejResponseTo(FIX::CxlRejResponseTo_ORDER_CANCEL_REQUEST));
        reject.set(FIX::Text("too late to cancel: the order is filled"));
        FIX::Session::sendToTarget(reject, id);
    }

    void onMessage(const FIX44::OrderCancelReplaceRequest& request, const FIX::SessionID& id) override {
        FIX::OrigClOrdID original;
        FIX::ClOrdID clOrdID;
        FIX::OrderQty quantity;
        FIX::Price price;
        request.get(original);
        request.get(clOrdID);
        request.get(quantity);
        request.get(price);
        auto open = resting.find(original.getValue());
        if (open == resting.end()) {
            FIX44::OrderCancelReject reject(
                FIX::OrderID(known.count(original.getValue()) ? known[original.getValue()] : "NONE"), clOrdID, original,
                FIX::OrdStatus(FIX::OrdStatus_FILLED),
                FIX::CxlRejResponseTo(FIX::CxlRejResponseTo_ORDER_CANCEL_REPLACE_REQUEST));
            reject.set(FIX::Text("too late to replace: the order is not working"));
            FIX::Session::sendToTarget(reject, id);
            return;
        }
        Resting order = open->second;
        resting.erase(open);
        known[clOrdID.getValue()] = order.orderID;
        FIX44::ExecutionReport replaced(FIX::OrderID(order.orderID), FIX::ExecID("EXE-" + std::to_string(++executions)),
                                        FIX::ExecType(FIX::ExecType_REPLACED), FIX::OrdStatus(FIX::OrdStatus_NEW),
                                        FIX::Side(order.side), FIX::LeavesQty(quantity), FIX::CumQty(0), FIX::AvgPx(0));
        replaced.set(clOrdID);
        replaced.set(original);
        replaced.set(FIX::Symbol(order.symbol));
        replaced.set(FIX::OrderQty(quantity));
        replaced.set(price);
        FIX::Session::sendToTarget(replaced, id);
        if (quantity >= 1000) {
            order.quantity = quantity;
            resting[clOrdID.getValue()] = order;
            return;
        }
        net[order.symbol] += (order.side == FIX::Side_BUY ? 1.0 : -1.0) * quantity;
        report(id, order.orderID, clOrdID, FIX::Symbol(order.symbol), FIX::Side(order.side), FIX::ExecType_TRADE,
               FIX::OrdStatus_FILLED, 0, quantity, price, quantity);
    }

    void onMessage(const FIX44::CollateralInquiry& inquiry, const FIX::SessionID& id) override {
        FIX44::CollateralReport report(FIX::CollRptID("COLR-" + std::to_string(++collateralReports)),
                                       FIX::CollStatus(FIX::CollStatus_ASSIGNED));
        FIX::CollInquiryID inquiryID;
        if (inquiry.isSet(inquiryID)) {
            inquiry.get(inquiryID);
            report.set(inquiryID);
        }
        report.set(FIX::Currency("USD"));
        report.set(FIX::TotalNetValue(42000));
        FIX::Session::sendToTarget(report, id);
    }

    void onMessage(const FIX44::RequestForPositions& request, const FIX::SessionID& id) override {
        FIX::PosReqID requestID;
        request.get(requestID);
        char date[9];
        time_t now = time(nullptr);
        strftime(date, sizeof date, "%Y%m%d", gmtime(&now));
        for (const auto& position : net) {
            FIX44::PositionReport report;
            report.set(FIX::PosMaintRptID("POS-" + std::to_string(++positionReports)));
            report.set(requestID);
            report.set(FIX::PosReqResult(FIX::PosReqResult_VALID_REQUEST));
            report.set(FIX::ClearingBusinessDate(date));
            report.set(FIX::Account("SCRYPTEX"));
            report.set(FIX::AccountType(FIX::AccountType_ACCOUNT_IS_CARRIED_ON_CUSTOMER_SIDE_OF_BOOKS));
            report.set(FIX::SettlPrice(0));
            report.set(FIX::SettlPriceType(FIX::SettlPriceType_FINAL));
            report.set(FIX::PriorSettlPrice(0));
            report.set(FIX::TotalNumPosReports((int)net.size()));
            report.set(FIX::Symbol(position.first));
            FIX44::PositionReport::NoPositions entry;
            entry.set(FIX::PosType("TQ"));
            entry.set(FIX::LongQty(position.second > 0 ? position.second : 0));
            entry.set(FIX::ShortQty(position.second < 0 ? -position.second : 0));
            report.addGroup(entry);
            FIX::Session::sendToTarget(report, id);
        }
    }

private:
    void report(const FIX::SessionID& id, const std::string& orderID, const FIX::ClOrdID& clOrdID,
                const FIX::Symbol& symbol, const FIX::Side& side, char execType, char status, double leaves,
                double cumulative, double price, double last) {
        FIX44::ExecutionReport report(FIX::OrderID(orderID), FIX::ExecID("EXE-" + std::to_string(++executions)),
                                      FIX::ExecType(execType), FIX::OrdStatus(status), side, FIX::LeavesQty(leaves),
                                      FIX::CumQty(cumulative), FIX::AvgPx(price));
        report.set(clOrdID);
        report.set(symbol);
        if (last > 0) {
            report.set(FIX::LastQty(last));
            report.set(FIX::LastPx(price));
        }
        FIX::Session::sendToTarget(report, id);
    }

    struct Resting {
        std::string orderID;
        std::string symbol;
        char side;
        double quantity;
    };

    int orders = 0;
    int executions = 0;
    std::map<std::string, std::string> known;
    std::map<std::string, Resting> resting;
    std::map<std::string, double> net;
    int positionReports = 0;
    int collateralReports = 0;
};

static volatile sig_atomic_t stopping = 0;

static void stop(int) { stopping = 1; }

int main(int argc, char** argv) {
    signal(SIGTERM, stop);
    signal(SIGINT, stop);
    if (argc < 2) {
        std::cerr << "usage: executor CONFIG [ssl]" << std::endl;
        return 2;
    }
    try {
        FIX::SessionSettings settings(argv[1]);
        Executor application;
        FIX::FileStoreFactory stores(settings);
        FIX::FileLogFactory logs(settings);
        std::unique_ptr<FIX::Acceptor> acceptor;
        if (argc > 2 && std::string(argv[2]) == "ssl") {
            acceptor.reset(new FIX::SSLSocketAcceptor(application, stores, settings, logs));
        } else {
            acceptor.reset(new FIX::SocketAcceptor(application, stores, settings, logs));
        }
        acceptor->start();
        std::cout << "ready" << std::endl;
        while (!stopping) {
            usleep(100000);
        }
        acceptor->stop();
    } catch (const std::exception& error) {
        std::cerr << "executor: " << error.what() << std::endl;
        return 1;
    }
    return 0;
}
